from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from balances.models import Balance
from walletmanager.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_freeze_and_unfreeze_by_wallet_id(wallet):
    assert run("freeze_balance", str(wallet.pk), "--reason", "AML hit") == f"Froze the balance of {wallet.pk}."
    balance = Balance.objects.get(wallet=wallet)
    assert (balance.status, balance.freeze_reason) == ("frozen", "AML hit")
    assert AuditEvent.objects.get(action="balance.frozen").actor is None

    assert run("unfreeze_balance", str(wallet.pk)) == f"Unfroze the balance of {wallet.pk}."
    assert run("unfreeze_balance", str(wallet.pk)) == f"The balance of {wallet.pk} was not frozen."
    assert Balance.objects.get(wallet=wallet).status == "active"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("freeze_balance", "42", "--reason", "x"), "No wallet with id or address '42'"),
        (("freeze_balance", "00000000-0000-0000-0000-000000000001", "--reason", "x"), "No wallet with id"),
        (("freeze_balance", "{wallet}"), "reason is required"),
        (("freeze_balance", "{system}", "--reason", "x"), "invalid_state"),
    ],
)
def test_bad_arguments_are_one_line_errors(wallet, system_wallet, args, message):
    args = [arg.format(wallet=wallet.pk, system=system_wallet.pk) for arg in args]

    with pytest.raises(CommandError) as error:
        call_command(*args, stdout=StringIO())

    assert message in str(error.value) and "\n" not in str(error.value)
    assert Balance.objects.get(wallet=wallet).status == "active"
