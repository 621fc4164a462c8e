"""Issue 13, commands: a wallet's address works wherever its id does (commands and the API's
``?wallet=``); ``export_transactions | head`` stops quietly; ``block_user`` keeps the API's rule
that only a superuser blocks staff."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from balances.models import Balance
from balances.tests.factories import WalletWithBalanceFactory
from users.models import User
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.clients import authenticated
from walletmanager.testing.database import database_env
from walletmanager.testing.ledger import post_adjustment
from wallets.models import Wallet
from wallets.tests.test_commands import PROJECT_ROOT, run


@pytest.mark.django_db
def test_wallet_commands_take_the_address_an_operator_reads_in_any_case():
    wallet = WalletWithBalanceFactory()
    address = wallet.address.lower()

    assert run("block_wallet", address, "--reason", "ops ticket 7") == f"Blocked wallet {wallet.pk}."
    assert run("unblock_wallet", wallet.address) == f"Unblocked wallet {wallet.pk}."
    assert run("freeze_balance", address, "--reason", "court order") == f"Froze the balance of {wallet.pk}."
    assert run("unfreeze_balance", wallet.address) == f"Unfroze the balance of {wallet.pk}."
    assert run("close_wallet", f" {address} ") == f"Closed wallet {wallet.pk}."

    wallet.refresh_from_db()
    assert wallet.status == Wallet.Status.CLOSED
    assert Balance.objects.get(wallet=wallet).status == Balance.Status.ACTIVE
    assert list(
        AuditEvent.objects.filter(target_id=str(wallet.pk)).order_by("id").values_list("action", flat=True)
    ) == [
        "wallet.blocked",
        "wallet.unblocked",
        "wallet.closed",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["block_wallet", "close_wallet", "freeze_balance"])
def test_an_unknown_address_is_one_line_naming_it(command):
    with pytest.raises(CommandError, match=r"No wallet with id or address 'nosuchwallet'"):
        call_command(command, "nosuchwallet", "--reason", "x", stdout=StringIO())


@pytest.mark.django_db
def test_the_apis_wallet_filter_takes_an_address_as_export_transactions_does():
    wallet, other = WalletWithBalanceFactory(), WalletWithBalanceFactory()
    mine = post_adjustment(wallet, "5")
    post_adjustment(other, "7")
    api = authenticated(StaffFactory(groups=["Support"]))

    def ids(value):
        response = api.get("/api/transactions/", {"wallet": value})
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(wallet.address) == ids(wallet.address.lower()) == ids(str(wallet.pk)) == [str(mine.pk)]
    assert ids("2" * 26) == []  # a well-formed address nobody has
    refused = api.get("/api/transactions/", {"wallet": "not-a-wallet"})
    assert refused.status_code == 400 and "wallet" in refused.content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_export_transactions_into_a_closed_pipe_stops_without_a_traceback():
    wallet = WalletWithBalanceFactory()
    for amount in range(1, 400):
        post_adjustment(wallet, amount)
    # A real pipe to a reader that takes two lines and closes it, as `manage.py export_transactions | head -2`.
    export = subprocess.Popen(
        [sys.executable, "manage.py", "export_transactions"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **database_env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    head = subprocess.run(["head", "-2"], stdin=export.stdout, capture_output=True, text=True, timeout=120)
    export.stdout.close()
    stderr = export.stderr.read().decode()
    export.wait(timeout=120)

    assert head.stdout.splitlines()[0].startswith('"id","created_at",')  # every field quoted
    assert len(head.stdout.splitlines()) == 2
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert stderr == ""


@pytest.mark.django_db
def test_block_user_refuses_a_staff_member_unless_a_superuser_is_named():
    colleague, support = StaffFactory(), StaffFactory(groups=["Support"])
    superuser = StaffFactory(is_superuser=True)

    with pytest.raises(CommandError, match="cannot_block_staff: Only a superuser blocks or unblocks staff"):
        run("block_user", colleague.email, "--reason", "left the company")
    with pytest.raises(CommandError, match="cannot_block_staff"):
        run("block_user", colleague.email, "--reason", "left the company", "--by", support.email)
    colleague.refresh_from_db()
    assert colleague.status == User.Status.ACTIVE
    assert not AuditEvent.objects.filter(action="user.blocked").exists()

    assert run("block_user", colleague.email, "--reason", "left the company", "--by", superuser.email) == (
        f"Blocked {colleague.email}."
    )
    colleague.refresh_from_db()
    assert colleague.status == User.Status.BLOCKED
    event = AuditEvent.objects.get(action="user.blocked")
    assert (event.actor_id, event.reason) == (superuser.pk, "left the company")


@pytest.mark.django_db
def test_block_user_still_blocks_a_client_as_the_system():
    client_user = UserFactory()

    assert run("block_user", client_user.email, "--reason", "fraud") == f"Blocked {client_user.email}."
    assert AuditEvent.objects.get(action="user.blocked").actor_id is None
