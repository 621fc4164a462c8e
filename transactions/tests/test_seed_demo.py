from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from transactions.models import Transaction
from transactions.reconciliation import reconcile
from users.models import AuthenticatorDevice as TOTPDevice
from users.models import User
from users.two_factor import totp_secret
from wallets.models import Wallet


@pytest.fixture(autouse=True)
def _development_machine(settings):
    """seed_demo publishes logins: it runs only with DJANGO_DEBUG on (SPEC §13)."""
    settings.DEBUG = True


@pytest.mark.django_db
def test_seed_demo_creates_logins_wallets_and_transactions_once():
    out = StringIO()
    call_command("seed_demo", "--users", "2", "--transactions", "12", stdout=out)

    assert "support@walletmanager.test" in out.getvalue()
    support = User.objects.get(email="support@walletmanager.test")
    assert support.is_staff and list(support.groups.values_list("name", flat=True)) == ["Support"]
    assert User.objects.get(email="admin@walletmanager.test").is_superuser
    assert Wallet.objects.filter(owner__email="client@walletmanager.test").count() == 2
    demo_transactions = Transaction.objects.filter(description="demo").count()
    assert demo_transactions >= 12
    wallets = Wallet.objects.count()

    call_command("seed_demo", "--users", "2", "--transactions", "12", stdout=StringIO())

    assert Transaction.objects.filter(description="demo").count() == demo_transactions
    assert Wallet.objects.count() == wallets
    assert User.objects.filter(email__endswith="@walletmanager.test").count() == 5
    assert reconcile().is_clean


@pytest.mark.django_db
def test_the_demo_is_funded_through_the_provider_and_leaves_a_deposit_to_simulate():
    out = StringIO()
    call_command("seed_demo", "--users", "1", "--transactions", "5", stdout=out)

    # Every posted demo deposit came through the provider's callback path.
    posted = Transaction.objects.filter(kind="deposit", status="posted")
    assert posted.exists() and not posted.filter(provider_id__isnull=True).exists()
    assert all(deposit.received_amount == deposit.amount for deposit in posted)
    waiting = Transaction.objects.filter(kind="deposit", status="pending").order_by("created_at").first()
    assert Transaction.objects.filter(kind="deposit", status="pending").count() == 3
    assert f"simulate_payment {waiting.reference}" in out.getvalue()
    finance = User.objects.filter(groups__name="Finance", email__endswith="@walletmanager.test")
    assert finance.count() == 2  # a maker and a checker

    call_command("simulate_payment", waiting.reference, stdout=StringIO())
    waiting.refresh_from_db()
    assert waiting.status == "posted"
    call_command("seed_demo", "--users", "1", "--transactions", "5", stdout=StringIO())
    assert Transaction.objects.filter(kind="deposit", status="pending").count() == 3  # a new one waits
    assert reconcile().is_clean


@pytest.mark.django_db(transaction=True)  # the bulk history is written as the owner, outside any transaction
def test_the_history_spans_30_days_and_every_queue_is_topped_up_on_each_run():
    from datetime import timedelta

    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from transactions.services import transaction_approve
    from walletmanager.approvals.models import ApprovalRequest
    from walletmanager.approvals.services import approval_approve

    call_command("seed_demo", "--users", "3", "--transactions", "120", stdout=StringIO())

    days = set(
        Transaction.objects.filter(description="demo")
        .annotate(day=TruncDate("created_at"))
        .values_list("day", flat=True)
    )
    today = timezone.localdate()
    assert len(days) >= 20 and min(days) >= today - timedelta(days=30) and max(days) == today
    assert not Transaction.objects.filter(created_at__lt=timezone.now() - timedelta(days=31)).exists()
    pending_withdrawals = Transaction.objects.filter(kind="withdrawal", status="pending")
    pending_deposits = Transaction.objects.filter(kind="deposit", status="pending")
    requests = ApprovalRequest.objects.filter(status="pending", requested_by__email="finance@walletmanager.test")
    assert (pending_withdrawals.count(), pending_deposits.count(), requests.count()) == (3, 3, 3)
    assert requests.first().reason and "ticket" in requests.first().reason

    # Someone works the queues; the next `make run` puts new items in them, no more than the target.
    checker = User.objects.get(email="finance2@walletmanager.test")
    transaction_approve(actor=checker, transaction=pending_withdrawals.first(), reason="demo")
    approval_approve(actor=checker, request=requests.first(), reason="demo")
    call_command("seed_demo", "--users", "3", "--transactions", "120", stdout=StringIO())
    call_command("seed_demo", "--users", "3", "--transactions", "120", stdout=StringIO())

    assert (pending_withdrawals.count(), pending_deposits.count(), requests.count()) == (3, 3, 3)
    assert reconcile().is_clean


@pytest.mark.django_db
def test_seed_demo_refuses_negative_counts():
    with pytest.raises(CommandError, match="zero or more"):
        call_command("seed_demo", "--users", "-1", stdout=StringIO())


@pytest.mark.django_db
def test_seed_demo_prints_each_operators_totp_secret_once_enrolled():
    out = StringIO()
    call_command("seed_demo", "--users", "0", "--transactions", "0", stdout=out)
    again = StringIO()
    call_command("seed_demo", "--users", "0", "--transactions", "0", stdout=again)

    for email in ("admin@walletmanager.test", "support@walletmanager.test", "finance@walletmanager.test"):
        device = TOTPDevice.objects.get(user__email=email)
        line = f"{email:<30} {totp_secret(device)}"
        assert line in out.getvalue() and line in again.getvalue()  # enrolled once, the same secret after
    assert not TOTPDevice.objects.filter(user__email="client@walletmanager.test").exists()
    assert "client@walletmanager.test" not in out.getvalue().split("TOTP secrets")[1]


@pytest.mark.django_db
def test_seed_demo_refuses_the_published_logins_with_debug_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="refusing with DJANGO_DEBUG off"):
        call_command("seed_demo", "--users", "0", "--transactions", "0", stdout=StringIO())

    assert not User.objects.filter(email__endswith="@walletmanager.test").exists()
