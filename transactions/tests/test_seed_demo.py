from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from transactions.models import Transaction
from transactions.reconciliation import reconcile
from users.models import User
from wallets.models import Wallet


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
    assert User.objects.filter(email__endswith="@walletmanager.test").count() == 4
    assert reconcile().is_clean


@pytest.mark.django_db
def test_seed_demo_refuses_negative_counts():
    with pytest.raises(CommandError, match="zero or more"):
        call_command("seed_demo", "--users", "-1", stdout=StringIO())
