"""``manage.py flush`` empties the job queue with the rest: no job about a row that no longer exists."""

import pytest
from django.core.management import call_command
from django.db import connection

from walletmanager.testing.database import require_two_roles
from walletmanager.testing.jobs import jobs_waiting
from walletmanager.testing.ledger import deposit, make_wallet, seed_reference_data
from walletmanager.webhooks.tasks import webhook_dispatch

pytestmark = pytest.mark.django_db(transaction=True)


def test_flush_leaves_no_job_behind():
    require_two_roles()
    deposit(make_wallet(), "5")
    webhook_dispatch.defer(event_id="00000000-0000-0000-0000-000000000000")
    assert jobs_waiting(task="webhook_dispatch")

    call_command("flush", interactive=False, verbosity=0)

    assert jobs_waiting() == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM transactions_transaction")
        assert cursor.fetchone()[0] == 0
    seed_reference_data()


def test_a_cancelled_flush_leaves_the_jobs(monkeypatch):
    require_two_roles()
    webhook_dispatch.defer(event_id="00000000-0000-0000-0000-000000000000")
    monkeypatch.setattr("builtins.input", lambda prompt: "no")

    call_command("flush", interactive=True, verbosity=0)

    assert [job["task"] for job in jobs_waiting()] == ["webhook_dispatch"]
