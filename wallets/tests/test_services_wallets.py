from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from balances.models import Balance
from balances.tests.factories import BalanceAssetFactory
from users.models import User
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.services import approval_approve
from walletmanager.exceptions import DomainError, PermissionDeniedError, ValidationFailed
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import place_hold, post_adjustment
from wallets import services
from wallets.exceptions import InvalidPin, PinLocked, WalletLimitReached
from wallets.models import Wallet
from wallets.tests.factories import DEFAULT_PIN

pytestmark = pytest.mark.django_db


def create(actor, owner, **overrides):
    arguments = {"name": "Main", "balance_kind": "regular", "currency": "USD", "pin": "1234", **overrides}
    return services.wallet_create(actor=actor, owner=owner, **arguments)


# --- creation -------------------------------------------------------------------------------------


def test_client_opens_a_regular_debit_wallet_with_its_balance_and_one_asset(client_user):
    wallet = create(client_user, client_user, pin="987654")

    assert wallet.kind == Wallet.Kind.DEBIT and wallet.status == Wallet.Status.ACTIVE
    assert len(wallet.address) == 26
    # A keyed hash (HMAC under PIN_KEY, SPEC §13), never the PIN itself.
    assert wallet.pin == services.wallet_pin_hash("987654") and wallet.pin.startswith("hmac-sha256$")
    balance = Balance.objects.get(wallet=wallet)
    assert (balance.kind, balance.currency_id, balance.status) == ("regular", "USD", "active")
    assert [(a.currency_id, a.posted, a.held, a.credit_limit) for a in balance.assets.all()] == [("USD", 0, 0, 0)]
    event = AuditEvent.objects.get(action="wallet.created", target_id=str(wallet.pk))
    assert event.actor == client_user
    assert event.data["after"]["currency"] == "USD"


def test_multi_balance_takes_no_currency_and_starts_without_assets(client_user):
    wallet = create(client_user, client_user, balance_kind="multi", currency=None)

    assert wallet.balance.kind == "multi" and wallet.balance.currency is None
    assert not wallet.balance.assets.exists()
    with pytest.raises(ValidationFailed) as error:
        create(client_user, client_user, balance_kind="multi", currency="EUR")
    assert error.value.field == "currency"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": None}, "currency"),
        ({"currency": "XXX"}, "currency"),
        ({"currency": "usd; drop table"}, "currency"),
        ({"pin": "123"}, "pin"),
        ({"pin": "1234567"}, "pin"),
        ({"pin": "12a4"}, "pin"),
        ({"pin": "١٢٣٤"}, "pin"),  # Arabic-Indic digits are digits to str.isdigit(), not to us
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"balance_kind": "mixed"}, "balance_kind"),
        ({"kind": "savings"}, "kind"),
    ],
)
def test_invalid_input_is_a_400_naming_the_field_and_creates_nothing(client_user, overrides, field):
    with pytest.raises(ValidationFailed) as error:
        create(client_user, client_user, **overrides)

    assert error.value.field == field and error.value.status_code == 400
    assert not Wallet.objects.filter(owner=client_user).exists()
    assert not AuditEvent.objects.filter(action="wallet.created").exists()


def test_inactive_currency_is_refused_and_rolls_the_wallet_back(client_user):
    from balances.models import Currency

    Currency.objects.filter(code="TON").update(is_active=False)

    with pytest.raises(ValidationFailed) as error:
        create(client_user, client_user, currency="TON")

    assert error.value.field == "currency"
    assert not Wallet.objects.filter(owner=client_user).exists()
    assert not AuditEvent.objects.filter(action="wallet.created").exists()


def test_credit_wallets_are_staff_only_and_regular_only(client_user, staff_user, finance_user):
    with pytest.raises(PermissionDeniedError):
        create(client_user, client_user, kind="credit")
    with pytest.raises(PermissionDeniedError):
        create(client_user, client_user, credit_limit=Decimal(5))
    with pytest.raises(PermissionDeniedError):
        create(staff_user, client_user, kind="credit")  # Support: credit is Finance's
    with pytest.raises(ValidationFailed) as error:
        create(finance_user, client_user, kind="credit", balance_kind="multi", currency=None)
    assert error.value.field == "balance_kind"
    with pytest.raises(ValidationFailed) as error:
        create(finance_user, client_user, kind="debit", credit_limit=Decimal(5))
    assert error.value.field == "credit_limit"
    with pytest.raises(ValidationFailed) as error:
        create(finance_user, client_user, kind="credit", credit_limit=Decimal("5.001"))
    assert error.value.field == "credit_limit"

    wallet = create(finance_user, client_user, kind="credit", credit_limit=Decimal("250.50"))

    # It opens without credit; the limit waits for a second Finance operator (SPEC §12).
    assert wallet.owner == client_user and wallet.credit_limit == 0
    request = ApprovalRequest.objects.get(action="set_credit_limit", target_id=str(wallet.pk))
    approval_approve(actor=StaffFactory(groups=["Finance"]), request=request)
    wallet.refresh_from_db()
    assert wallet.credit_limit == Decimal("250.50")
    assert wallet.balance.assets.get().credit_limit == Decimal("250.50")


def test_clients_cannot_open_wallets_for_someone_else(client_user, other_client):
    with pytest.raises(PermissionDeniedError):
        create(client_user, other_client)


@override_settings(MAX_WALLETS_PER_USER=3)
def test_wallet_limit_counts_only_wallets_that_are_not_closed(client_user, staff_user):
    wallets = [create(client_user, client_user) for _ in range(3)]

    with pytest.raises(WalletLimitReached) as error:
        create(client_user, client_user)
    assert error.value.code == "wallet_limit_reached" and error.value.status_code == 409

    services.wallet_close(actor=staff_user, wallet=wallets[0])
    create(client_user, client_user)
    assert Wallet.objects.filter(owner=client_user).count() == 4


@pytest.mark.parametrize(("status", "code"), [("blocked", "user_blocked"), ("closed", "user_closed")])
def test_owner_must_be_active(staff_user, status, code):
    owner = UserFactory(status=status, closed_at=timezone.now() if status == "closed" else None)

    with pytest.raises(DomainError) as error:
        create(staff_user, owner)

    assert error.value.code == code
    assert not Wallet.objects.filter(owner=owner).exists()


def test_nobody_opens_a_wallet_for_the_system_user(staff_user):
    with pytest.raises(DomainError) as error:
        create(staff_user, User.objects.get(is_system=True))
    assert error.value.code == "invalid_state"


# --- state transitions ----------------------------------------------------------------------------

BLOCK = lambda actor, wallet: services.wallet_block(actor=actor, wallet=wallet, reason="fraud check")  # noqa: E731
UNBLOCK = lambda actor, wallet: services.wallet_unblock(actor=actor, wallet=wallet, reason="cleared")  # noqa: E731
CLOSE = lambda actor, wallet: services.wallet_close(actor=actor, wallet=wallet, reason="asked by client")  # noqa: E731
RENAME = lambda actor, wallet: services.wallet_rename(actor=actor, wallet=wallet, name="Renamed")  # noqa: E731


def put_in_state(wallet, status):
    Wallet.objects.filter(pk=wallet.pk).update(status=status, closed_at=timezone.now() if status == "closed" else None)
    wallet.refresh_from_db()


@pytest.mark.parametrize(
    ("start", "action", "result", "audited"),
    [
        ("active", BLOCK, "blocked", "wallet.blocked"),
        ("blocked", BLOCK, "blocked", None),  # already there: no-op
        ("closed", BLOCK, "wallet_closed", None),
        ("blocked", UNBLOCK, "active", "wallet.unblocked"),
        ("active", UNBLOCK, "active", None),
        ("closed", UNBLOCK, "wallet_closed", None),
        ("active", CLOSE, "closed", "wallet.closed"),
        ("blocked", CLOSE, "closed", "wallet.closed"),  # staff may close a blocked wallet
        ("closed", CLOSE, "closed", None),
        ("active", RENAME, "active", "wallet.updated"),
        ("closed", RENAME, "wallet_closed", None),
    ],
)
def test_state_transition_table(wallet, staff_user, start, action, result, audited):
    put_in_state(wallet, start)
    events_before = AuditEvent.objects.count()

    if result in Wallet.Status.values:
        returned = action(staff_user, wallet)
        wallet.refresh_from_db()
        assert returned.status == wallet.status == result
    else:
        with pytest.raises(DomainError) as error:
            action(staff_user, wallet)
        assert error.value.code == result and error.value.status_code == 409
        wallet.refresh_from_db()
        assert wallet.status == start

    if audited:
        event = AuditEvent.objects.latest("id")
        assert AuditEvent.objects.count() == events_before + 1
        assert (event.action, event.actor, event.target_id) == (audited, staff_user, str(wallet.pk))
    else:
        assert AuditEvent.objects.count() == events_before


def test_block_records_reason_and_audit_before_after(wallet, staff_user):
    services.wallet_block(actor=staff_user, wallet=wallet, reason="  chargeback investigation  ")

    wallet.refresh_from_db()
    assert wallet.block_reason == "chargeback investigation" and wallet.blocked_at is not None
    event = AuditEvent.objects.get(action="wallet.blocked")
    assert event.reason == "chargeback investigation" and event.actor == staff_user
    assert event.data == {"before": {"status": "active"}, "after": {"status": "blocked"}}

    services.wallet_unblock(actor=staff_user, wallet=wallet, reason="")
    wallet.refresh_from_db()
    assert (wallet.status, wallet.block_reason, wallet.blocked_at) == ("active", "", None)


def test_block_needs_a_reason_and_staff(wallet, staff_user, client_user):
    with pytest.raises(ValidationFailed) as error:
        services.wallet_block(actor=staff_user, wallet=wallet, reason="   ")
    assert error.value.field == "reason"
    with pytest.raises(PermissionDeniedError):
        services.wallet_block(actor=client_user, wallet=wallet, reason="mine")
    wallet.refresh_from_db()
    assert wallet.status == "active"


@pytest.mark.parametrize(
    "action",
    [
        lambda actor, wallet: services.wallet_block(actor=actor, wallet=wallet, reason="x"),
        lambda actor, wallet: services.wallet_close(actor=actor, wallet=wallet),
    ],
)
def test_system_wallets_can_never_be_blocked_or_closed(system_wallet, staff_user, action):
    with pytest.raises(DomainError) as error:
        action(staff_user, system_wallet)
    assert error.value.code == "invalid_state"
    system_wallet.refresh_from_db()
    assert system_wallet.status == "active"


def test_close_refuses_a_wallet_with_money_or_holds(wallet, staff_user):
    post_adjustment(wallet, "0.01")
    with pytest.raises(DomainError) as error:
        services.wallet_close(actor=staff_user, wallet=wallet)
    assert error.value.code == "wallet_not_empty"

    post_adjustment(wallet, "4.99")
    place_hold(wallet, 5)
    with pytest.raises(DomainError) as error:
        services.wallet_close(actor=staff_user, wallet=wallet)
    assert error.value.code == "wallet_not_empty"
    wallet.refresh_from_db()
    assert wallet.status == "active"


def test_multi_wallet_with_a_non_empty_second_asset_is_not_empty(client_user, staff_user, open_wallet):
    from balances.models import Currency

    wallet = open_wallet(client_user, balance_kind="multi")
    BalanceAssetFactory(balance=wallet.balance, currency=Currency.objects.get(code="EUR"))  # opened, empty
    post_adjustment(wallet, 1, "BTC")

    with pytest.raises(DomainError) as error:
        services.wallet_close(actor=staff_user, wallet=wallet)
    assert error.value.code == "wallet_not_empty"


def test_owner_closes_with_the_right_pin_only(wallet, client_user, other_client):
    with pytest.raises(InvalidPin):
        services.wallet_close(actor=client_user, wallet=wallet, pin="0000")
    with pytest.raises(InvalidPin):
        services.wallet_close(actor=client_user, wallet=wallet, pin=None)
    with pytest.raises(PermissionDeniedError):
        services.wallet_close(actor=other_client, wallet=wallet, pin=DEFAULT_PIN)
    wallet.refresh_from_db()
    assert wallet.status == "active"

    services.wallet_close(actor=client_user, wallet=wallet, pin=DEFAULT_PIN)
    wallet.refresh_from_db()
    assert wallet.status == "closed" and wallet.closed_at is not None
    assert AuditEvent.objects.get(action="wallet.closed").actor == client_user


def test_owner_cannot_close_a_blocked_wallet(wallet, client_user, staff_user):
    services.wallet_block(actor=staff_user, wallet=wallet, reason="review")

    with pytest.raises(DomainError) as error:
        services.wallet_close(actor=client_user, wallet=wallet, pin=DEFAULT_PIN)

    assert error.value.code == "wallet_blocked"


# --- credit limit ---------------------------------------------------------------------------------


def test_credit_limit_moves_the_asset_mirror_and_never_below_what_is_used(credit_wallet, finance_user, client_user):
    asset = credit_wallet.balance.assets.get()
    post_adjustment(credit_wallet, -60)
    place_hold(credit_wallet, 10)  # 70 used

    with pytest.raises(DomainError) as error:
        services.wallet_set_credit_limit(actor=finance_user, wallet=credit_wallet, credit_limit=Decimal("69.99"))
    assert error.value.code == "invalid_state"
    assert error.value.detail == "The wallet already uses 70 of credit; the limit cannot go below it."
    credit_wallet.refresh_from_db()
    asset.refresh_from_db()
    assert credit_wallet.credit_limit == asset.credit_limit == Decimal(100)  # the refusal changed nothing
    with pytest.raises(PermissionDeniedError):
        services.wallet_set_credit_limit(actor=client_user, wallet=credit_wallet, credit_limit=Decimal(500))

    services.wallet_set_credit_limit(actor=finance_user, wallet=credit_wallet, credit_limit="70")

    credit_wallet.refresh_from_db()
    asset.refresh_from_db()
    assert credit_wallet.credit_limit == asset.credit_limit == Decimal(70)
    assert asset.available == Decimal(0)
    event = AuditEvent.objects.filter(action="wallet.updated").latest("id")
    assert event.data == {"before": {"credit_limit": "100.000000000000000000"}, "after": {"credit_limit": "70"}}
    assert event.actor == finance_user


@pytest.mark.parametrize("value", ["-1", "NaN", "Infinity", "abc", "1.001", "1e400", True])
def test_credit_limit_input_is_validated(credit_wallet, finance_user, value):
    with pytest.raises(ValidationFailed) as error:
        services.wallet_set_credit_limit(actor=finance_user, wallet=credit_wallet, credit_limit=value)
    assert error.value.field == "credit_limit"


def test_debit_wallets_have_no_credit_limit(wallet, finance_user):
    with pytest.raises(ValidationFailed) as error:
        services.wallet_set_credit_limit(actor=finance_user, wallet=wallet, credit_limit=Decimal(10))
    assert error.value.field == "credit_limit"


# --- PIN ------------------------------------------------------------------------------------------


def test_five_wrong_pins_lock_the_pin_even_for_the_right_one(wallet):
    for _ in range(4):
        with pytest.raises(InvalidPin):
            services.wallet_verify_pin(wallet=wallet, pin="0000")
    with pytest.raises(PinLocked) as error:
        services.wallet_verify_pin(wallet=wallet, pin="0000")
    assert error.value.code == "pin_locked" and error.value.status_code == 403

    with pytest.raises(PinLocked):
        services.wallet_verify_pin(wallet=wallet, pin=DEFAULT_PIN)
    locked_until = services.wallet_pin_locked_until(wallet=wallet)
    assert timezone.now() + timedelta(minutes=14) < locked_until <= timezone.now() + timedelta(minutes=15)
    assert AuditEvent.objects.filter(action="wallet.pin_locked", target_id=str(wallet.pk)).count() == 1


def test_pin_lock_expires(wallet):
    for _ in range(5):
        with pytest.raises((InvalidPin, PinLocked)):
            services.wallet_verify_pin(wallet=wallet, pin="0000")

    # Move time instead of sleeping: the lock ended a second ago.
    key = services.pin_locked_until_key(wallet.pk)
    cache.set(key, (timezone.now() - timedelta(seconds=1)).isoformat(), timeout=60)

    assert services.wallet_pin_locked_until(wallet=wallet) is None
    services.wallet_verify_pin(wallet=wallet, pin=DEFAULT_PIN)
    # And the count starts again from zero.
    for _ in range(4):
        with pytest.raises(InvalidPin):
            services.wallet_verify_pin(wallet=wallet, pin="0000")


def test_a_right_pin_resets_the_count(wallet):
    for _ in range(4):
        with pytest.raises(InvalidPin):
            services.wallet_verify_pin(wallet=wallet, pin="0000")
    services.wallet_verify_pin(wallet=wallet, pin=DEFAULT_PIN)
    for _ in range(4):
        with pytest.raises(InvalidPin):
            services.wallet_verify_pin(wallet=wallet, pin="9999")
    services.wallet_verify_pin(wallet=wallet, pin=DEFAULT_PIN)


# Real commits: serialized_rollback restores the seeded currencies and system wallets afterwards.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_wrong_pins_count_even_when_the_callers_transaction_rolls_back(client_user, open_wallet):
    from django.db import transaction

    wallet = open_wallet(client_user)
    for _ in range(5):
        with pytest.raises((InvalidPin, PinLocked)), transaction.atomic():
            # What a withdrawal does: verify inside its own transaction, which the error rolls back.
            services.wallet_verify_pin(wallet=Wallet.objects.select_for_update().get(pk=wallet.pk), pin="0000")

    with pytest.raises(PinLocked):
        services.wallet_verify_pin(wallet=wallet, pin=DEFAULT_PIN)


@pytest.mark.parametrize("pin", [None, "", 1234, "12345678901234567890"])
def test_malformed_pins_are_wrong_pins(wallet, pin):
    with pytest.raises(InvalidPin):
        services.wallet_verify_pin(wallet=wallet, pin=pin)
