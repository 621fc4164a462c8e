import pytest
from django.utils import timezone

from balances import services
from balances.models import Balance
from walletmanager.exceptions import DomainError, PermissionDeniedError, ValidationFailed
from walletmanager.models import AuditEvent
from wallets.models import Wallet

pytestmark = pytest.mark.django_db

FREEZE = lambda actor, balance: services.balance_freeze(actor=actor, balance=balance, reason="AML review")  # noqa: E731
UNFREEZE = lambda actor, balance: services.balance_unfreeze(actor=actor, balance=balance, reason="cleared")  # noqa: E731


@pytest.mark.parametrize(
    ("wallet_status", "balance_status", "action", "result", "audited"),
    [
        ("active", "active", FREEZE, "frozen", "balance.frozen"),
        ("blocked", "active", FREEZE, "frozen", "balance.frozen"),  # independent of the wallet's block
        ("active", "frozen", FREEZE, "frozen", None),  # no-op
        ("closed", "active", FREEZE, "wallet_closed", None),
        ("active", "frozen", UNFREEZE, "active", "balance.unfrozen"),
        ("active", "active", UNFREEZE, "active", None),
        ("closed", "frozen", UNFREEZE, "wallet_closed", None),
    ],
)
def test_freeze_transition_table(wallet, staff_user, wallet_status, balance_status, action, result, audited):
    Wallet.objects.filter(pk=wallet.pk).update(
        status=wallet_status, closed_at=timezone.now() if wallet_status == "closed" else None
    )
    Balance.objects.filter(wallet=wallet).update(status=balance_status)
    balance = Balance.objects.get(wallet=wallet)
    events_before = AuditEvent.objects.count()

    if result in Balance.Status.values:
        action(staff_user, balance)
        balance.refresh_from_db()
        assert balance.status == result
    else:
        with pytest.raises(DomainError) as error:
            action(staff_user, balance)
        assert (error.value.code, error.value.status_code) == (result, 409)
        balance.refresh_from_db()
        assert balance.status == balance_status

    if audited:
        event = AuditEvent.objects.latest("id")
        assert (event.action, event.actor, event.target_id) == (audited, staff_user, str(balance.pk))
        assert AuditEvent.objects.count() == events_before + 1
    else:
        assert AuditEvent.objects.count() == events_before


def test_freeze_records_reason_and_unfreeze_clears_it(wallet, staff_user):
    balance = services.balance_freeze(actor=staff_user, balance=wallet.balance, reason=" AML review ")
    assert (balance.status, balance.freeze_reason) == ("frozen", "AML review") and balance.frozen_at
    assert AuditEvent.objects.get(action="balance.frozen").reason == "AML review"

    balance = services.balance_unfreeze(actor=staff_user, balance=balance)
    assert (balance.status, balance.freeze_reason, balance.frozen_at) == ("active", "", None)


def test_freeze_needs_staff_and_a_reason(wallet, client_user, staff_user):
    with pytest.raises(PermissionDeniedError):
        services.balance_freeze(actor=client_user, balance=wallet.balance, reason="mine")
    with pytest.raises(ValidationFailed) as error:
        services.balance_freeze(actor=staff_user, balance=wallet.balance, reason="")
    assert error.value.field == "reason"
    assert Balance.objects.get(wallet=wallet).status == "active"


def test_system_balances_can_never_be_frozen(system_wallet, staff_user):
    with pytest.raises(DomainError) as error:
        services.balance_freeze(actor=staff_user, balance=system_wallet.balance, reason="test")
    assert error.value.code == "invalid_state"


def test_commands_act_as_the_system(wallet):
    services.balance_freeze(actor=None, balance=wallet.balance, reason="ops ticket 42")
    event = AuditEvent.objects.get(action="balance.frozen")
    assert event.actor is None and event.reason == "ops ticket 42"
