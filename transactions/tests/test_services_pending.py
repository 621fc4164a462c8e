"""Withdrawals above the approval threshold: hold, then approve / reject / cancel / expire, each once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from balances.exceptions import BalanceFrozen
from balances.models import Balance, Currency
from transactions import services
from transactions.models import Transaction
from walletmanager.exceptions import InvalidState, NotFoundError, PermissionDeniedError, ValidationFailed
from walletmanager.models import AuditEvent
from walletmanager.testing.database import owner_connection, require_two_roles
from walletmanager.testing.ledger import PIN, assert_ledger_consistent, position, system_position

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(funded_wallet, usd):
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("50"))
    usd.refresh_from_db()
    return services.transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="60", pin=PIN
    )


def test_withdrawal_at_the_threshold_is_held_not_posted(pending, funded_wallet):
    assert pending.status == "pending"
    assert not pending.entries.exists()
    assert position(funded_wallet) == (Decimal(100), Decimal(60), Decimal(40))
    assert pending.balance_after.held == Decimal(60)
    assert AuditEvent.objects.filter(action="withdrawal.requested", target_id=str(pending.pk)).count() == 1
    assert_ledger_consistent()


def test_below_the_threshold_posts_at_once(funded_wallet, usd):
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("50"))
    usd.refresh_from_db()
    tx = services.transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="49.99", pin=PIN
    )
    assert tx.status == "posted"


def test_held_money_is_not_available(pending, funded_wallet, usd):
    from balances.exceptions import InsufficientFunds

    with pytest.raises(InsufficientFunds):
        services.transaction_withdraw(
            actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="40.01", pin=PIN
        )


def test_approve_posts_the_held_amount_once(pending, funded_wallet, staff):
    approved = services.transaction_approve(actor=staff, transaction=pending, reason="checked")

    assert (approved.status, approved.reason) == ("posted", "checked")
    assert approved.posted_at and approved.resolved_at
    assert position(funded_wallet) == (Decimal(40), 0, Decimal(40))
    assert system_position("external") == Decimal(-40)
    with pytest.raises(InvalidState) as error:
        services.transaction_approve(actor=staff, transaction=pending)
    assert error.value.code == "invalid_state"
    with pytest.raises(InvalidState):
        services.transaction_reject(actor=staff, transaction=pending, reason="late")
    assert_ledger_consistent()


def test_approve_with_fee_posts_amount_plus_fee(funded_wallet, usd, staff):
    from transactions.models import FeeRule

    FeeRule.objects.create(kind="withdrawal", currency=usd, flat=Decimal("1"))
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("50"))
    usd.refresh_from_db()
    tx = services.transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="99", pin=PIN
    )
    assert position(funded_wallet) == (Decimal(100), Decimal(100), 0)

    services.transaction_approve(actor=staff, transaction=tx)

    assert position(funded_wallet) == (0, 0, 0)
    assert system_position("fees") == Decimal(1)
    assert_ledger_consistent()


def test_reject_releases_the_hold(pending, funded_wallet, staff):
    rejected = services.transaction_reject(actor=staff, transaction=pending, reason="suspicious")

    assert (rejected.status, rejected.reason) == ("rejected", "suspicious")
    assert position(funded_wallet) == (Decimal(100), 0, Decimal(100))
    assert not rejected.entries.exists()
    assert AuditEvent.objects.get(action="withdrawal.rejected").reason == "suspicious"
    with pytest.raises(InvalidState):
        services.transaction_reject(actor=staff, transaction=pending, reason="again")
    assert_ledger_consistent()


def test_reject_needs_a_reason_and_staff(pending, staff, funded_wallet):
    with pytest.raises(ValidationFailed):
        services.transaction_reject(actor=staff, transaction=pending, reason="")
    with pytest.raises(PermissionDeniedError):
        services.transaction_reject(actor=funded_wallet.owner, transaction=pending, reason="mine")
    with pytest.raises(PermissionDeniedError):
        services.transaction_approve(actor=funded_wallet.owner, transaction=pending)


def test_owner_cancels_once(pending, funded_wallet, staff):
    cancelled = services.transaction_cancel(actor=funded_wallet.owner, transaction=pending)

    assert cancelled.status == "cancelled"
    assert position(funded_wallet) == (Decimal(100), 0, Decimal(100))
    with pytest.raises(InvalidState):
        services.transaction_cancel(actor=funded_wallet.owner, transaction=pending)
    with pytest.raises(InvalidState):
        services.transaction_approve(actor=staff, transaction=pending)
    assert AuditEvent.objects.filter(action="withdrawal.cancelled").count() == 1


def test_someone_else_cannot_cancel(pending, client_user):
    from users.tests.factories import UserFactory

    with pytest.raises(NotFoundError):
        services.transaction_cancel(actor=UserFactory(), transaction=pending)


def test_only_pending_withdrawals_resolve(funded_wallet, staff):
    posted = Transaction.objects.get()
    with pytest.raises(InvalidState):
        services.transaction_approve(actor=staff, transaction=posted)
    with pytest.raises(InvalidState):
        services.transaction_cancel(actor=funded_wallet.owner, transaction=posted)


def test_approve_refused_while_the_balance_is_frozen(pending, funded_wallet, staff):
    Balance.objects.filter(wallet=funded_wallet).update(status="frozen")

    with pytest.raises(BalanceFrozen):
        services.transaction_approve(actor=staff, transaction=pending)

    services.transaction_reject(actor=staff, transaction=pending, reason="frozen account")
    assert position(funded_wallet) == (Decimal(100), 0, Decimal(100))


@pytest.mark.django_db(transaction=True)
def test_expire_holds_releases_old_pending_only(pending, funded_wallet, usd, settings):
    require_two_roles()
    # What only the owner may do: date the withdrawal back (the velocity buckets move with it, by trigger).
    with owner_connection() as owner:
        owner.execute(
            "UPDATE transactions_transaction SET created_at = now() - %s WHERE id = %s",
            [settings.HOLD_TTL + timedelta(minutes=1), pending.pk],
        )
    # Below the threshold, and the old withdrawal is out of the 24-hour window: posted at once.
    fresh = services.transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="30", pin=PIN
    )

    assert services.transaction_expire_holds() == 1
    assert services.transaction_expire_holds() == 0

    pending.refresh_from_db()
    fresh.refresh_from_db()
    assert (pending.status, fresh.status) == ("expired", "posted")
    assert position(funded_wallet) == (Decimal(70), 0, Decimal(70))
    assert AuditEvent.objects.filter(action="withdrawal.expired", actor=None).count() == 1
    assert_ledger_consistent()


def test_expire_holds_with_an_explicit_now(pending, settings):
    assert services.transaction_expire_holds(now=timezone.now() + settings.HOLD_TTL + timedelta(seconds=1)) == 1
