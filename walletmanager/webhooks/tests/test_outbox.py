"""The outbox (SPEC §15): an event and the job that delivers it exist exactly when the change committed."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest
from django.db import transaction

from balances.models import Currency
from transactions import services
from users.tests.factories import UserFactory
from walletmanager.testing.database import database_env
from walletmanager.testing.jobs import jobs_waiting
from walletmanager.testing.ledger import PIN, deposit, make_wallet
from walletmanager.webhooks.models import WebhookEndpoint, WebhookEvent
from wallets.services import wallet_block


class Refused(Exception):
    pass


def subscribe(owner, *events: str) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        owner=owner, url="https://hooks.example.com/", events=list(events), secret="whsec_x"
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_change_that_rolls_back_leaves_no_event_and_no_job(funded_wallet, staff):
    subscribe(funded_wallet.owner, "wallet.blocked")
    jobs_before = jobs_waiting()
    with pytest.raises(Refused), transaction.atomic():
        wallet_block(actor=staff, wallet=funded_wallet, reason="suspicious")
        assert WebhookEvent.objects.filter(type="wallet.blocked").exists()  # written inside the change ...
        raise Refused

    assert not WebhookEvent.objects.filter(type="wallet.blocked").exists()  # ... and gone with it
    assert jobs_waiting() == jobs_before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_change_that_commits_leaves_its_event_and_a_job_for_it(funded_wallet, usd):
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("50"))
    usd.refresh_from_db()
    subscribe(funded_wallet.owner, "transaction.pending")

    pending = services.transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="60", pin=PIN
    )

    event = WebhookEvent.objects.get(type="transaction.pending")
    assert event.data["id"] == str(pending.pk) and event.data["status"] == "pending" and event.data["amount"] == "60.00"
    assert "reason" not in event.data and "balance_after" not in event.data
    assert event.owner_ids == [funded_wallet.owner_id]
    assert {"task": "webhook_dispatch", "args": {"event_id": str(event.pk)}} in [
        {"task": job["task"], "args": job["args"]} for job in jobs_waiting()
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_job_is_in_the_table_when_the_process_dies_right_after_the_commit(funded_wallet, staff):
    """A process killed between its commit and anything else it meant to do (no on_commit hook, no
    broker round trip) has still left the job: it was written by the commit itself."""
    subscribe(funded_wallet.owner, "*")
    script = (
        "import os\n"
        "from django.db import transaction\n"
        "from users.models import User\n"
        "from wallets.models import Wallet\n"
        "from wallets.services import wallet_block\n"
        f"wallet = Wallet.objects.get(pk='{funded_wallet.pk}')\n"
        f"with transaction.atomic():\n"
        f"    wallet_block(actor=User.objects.get(pk={staff.pk}), wallet=wallet, reason='dies after commit')\n"
        "os._exit(9)\n"
    )
    died = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        env={**_environment(), **database_env()},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert died.returncode == 9, died.stderr
    event = WebhookEvent.objects.get(type="wallet.blocked")
    assert event.data["status"] == "blocked" and "reason" not in str(event.data)
    assert {"event_id": str(event.pk)} in [job["args"] for job in jobs_waiting(task="webhook_dispatch")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_event_no_live_endpoint_wants_is_neither_recorded_nor_deferred(funded_wallet, staff):
    subscribe(funded_wallet.owner, "transaction.posted")  # not this type
    subscribe(UserFactory(), "*")  # not this owner
    deleted = subscribe(funded_wallet.owner, "*")
    WebhookEndpoint.objects.filter(pk=deleted.pk).update(is_active=False)  # disabled
    jobs_before = jobs_waiting()

    wallet_block(actor=staff, wallet=funded_wallet, reason="suspicious")

    assert not WebhookEvent.objects.filter(type="wallet.blocked").exists()
    assert jobs_waiting() == jobs_before


def _environment() -> dict[str, str]:
    import os

    return {**os.environ, "DJANGO_DEBUG": "1"}


@pytest.mark.django_db
def test_deposits_publish_deposit_events_and_other_kinds_transaction_events(wallet, other_wallet, usd):
    subscribe(wallet.owner, "*")
    funded_wallet = wallet
    deposit(wallet, "100")
    services.transaction_transfer(
        actor=funded_wallet.owner,
        wallet=funded_wallet,
        to_address=other_wallet.address,
        currency=usd,
        amount="5",
        pin=PIN,
    )

    types = list(WebhookEvent.objects.order_by("created_at").values_list("type", flat=True))
    assert types == ["deposit.pending", "deposit.posted", "transaction.posted"]
    transfer = WebhookEvent.objects.get(type="transaction.posted")
    assert sorted(transfer.owner_ids) == sorted([funded_wallet.owner_id, other_wallet.owner_id])


@pytest.mark.django_db
def test_a_multi_currency_wallets_freeze_is_a_balance_event_for_its_owner(staff, client_user):
    from balances.services import balance_freeze

    wallet = make_wallet(owner=client_user, balance_kind="multi", currency=None)
    subscribe(client_user, "balance.frozen")
    balance_freeze(actor=staff, balance=wallet.balance, reason="court order")

    event = WebhookEvent.objects.get(type="balance.frozen")
    assert event.data["wallet"] == str(wallet.pk) and event.data["status"] == "frozen"
    assert "court order" not in str(event.data) and event.owner_ids == [client_user.pk]
