import os
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from walletmanager.models import AuditEvent
from walletmanager.testing.database import database_env
from walletmanager.testing.ledger import post_adjustment
from wallets.models import Wallet

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.django_db
def test_block_unblock_and_close_wallet_as_the_system(wallet):
    assert run("block_wallet", str(wallet.pk), "--reason", "ops ticket 7") == f"Blocked wallet {wallet.pk}."
    assert run("block_wallet", str(wallet.pk), "--reason", "again") == f"{wallet.pk} was already blocked."
    wallet.refresh_from_db()
    assert (wallet.status, wallet.block_reason) == ("blocked", "ops ticket 7")
    event = AuditEvent.objects.get(action="wallet.blocked")
    assert event.actor is None and event.reason == "ops ticket 7"

    assert run("unblock_wallet", str(wallet.pk)) == f"Unblocked wallet {wallet.pk}."
    assert run("close_wallet", str(wallet.pk)) == f"Closed wallet {wallet.pk}."
    wallet.refresh_from_db()
    assert wallet.status == "closed"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("block_wallet", "not-a-uuid", "--reason", "x"), "No wallet with id or address 'not-a-uuid'"),
        (("block_wallet", str(uuid.UUID(int=1)), "--reason", "x"), "No wallet with id"),
        (("block_wallet", "{wallet}"), "reason is required"),
        (("block_wallet", "{wallet}", "--reason", "   "), "reason is required"),
        (("close_wallet", "{system}"), "invalid_state"),
        (("close_wallet", "{full}"), "wallet_not_empty"),
        (("unblock_wallet", "{closed}"), "wallet_closed"),
    ],
)
def test_bad_arguments_and_refused_transitions_are_one_line_errors(wallet, system_wallet, open_wallet, args, message):
    full = open_wallet(wallet.owner, name="Full")
    post_adjustment(full, 1)
    closed = open_wallet(wallet.owner, name="Closed")
    Wallet.objects.filter(pk=closed.pk).update(status="closed")
    ids = {"wallet": wallet.pk, "system": system_wallet.pk, "full": full.pk, "closed": closed.pk}
    args = [arg.format(**ids) for arg in args]

    with pytest.raises(CommandError) as error:
        call_command(*args, stdout=StringIO())

    assert message in str(error.value) and "\n" not in str(error.value)
    assert Wallet.objects.get(pk=wallet.pk).status == "active"


def run_manage(*args: str) -> subprocess.CompletedProcess:
    # The subprocess talks to this run's test database (it holds the migrated schema), on the same server.
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **database_env()},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_from_the_shell_errors_exit_non_zero_without_a_traceback():
    result = run_manage("block_wallet", "not-a-uuid", "--reason", "x")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "No wallet with id or address 'not-a-uuid'" in result.stderr
