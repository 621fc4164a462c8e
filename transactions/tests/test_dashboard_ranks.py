"""The dashboard ranks and speaks operators' words (SPEC §8, issue 24): Finance checks the ledger from it
and sees the result; today's volume counts the money that moved; recent actions read the objects as
they are now; fees read "0.5 %"; the transactions list finds the short id it shows and a deposit's
reference."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from balances.models import Currency
from transactions import deposits, services
from transactions.models import FeeRule, ReconciliationRun
from users.tests.factories import StaffFactory
from walletmanager.testing.jobs import jobs_waiting, run_jobs
from walletmanager.testing.ledger import PIN, deposit, make_wallet
from walletmanager.testing.two_factor import verified_staff_login

pytestmark = pytest.mark.django_db


def squeezed(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_finance_checks_the_ledger_from_the_dashboard_and_sees_the_result(client):
    deposit(make_wallet(), "10")
    verified_staff_login(client, StaffFactory(groups=["Finance"]))
    assert 'id="reconcile-now"' in client.get("/admin/").content.decode()

    response = client.post(reverse("operator_reconcile"), follow=True)

    assert "Reconciliation started" in squeezed(response)
    assert "A check is waiting for the background worker" in squeezed(response)
    assert [job["task"] for job in jobs_waiting()] == ["reconcile_nightly"]
    # Asked twice before the worker ran: one check, not two.
    client.post(reverse("operator_reconcile"))
    assert len(jobs_waiting(task="reconcile_nightly")) == 1

    run_jobs()

    run = ReconciliationRun.objects.get()
    page = client.get("/admin/").content.decode()
    assert run.is_clean and '<strong class="state-good">Clean</strong>' in page
    assert reverse("admin:transactions_reconciliationrun_change", args=[run.pk]) in page
    assert client.get(reverse("admin:transactions_reconciliationrun_change", args=[run.pk])).status_code == 200


def test_support_may_not_start_a_check_and_a_get_starts_nothing(client):
    verified_staff_login(client, StaffFactory(groups=["Support"]))

    assert 'id="reconcile-now"' not in client.get("/admin/").content.decode()
    assert client.post(reverse("operator_reconcile")).status_code == 403
    verified_staff_login(client, StaffFactory(groups=["Finance"]))
    assert client.get(reverse("operator_reconcile")).status_code == 405
    assert jobs_waiting() == []


def test_today_s_volume_counts_posted_money_not_what_waits(client):
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("100"))
    wallet = make_wallet()
    deposit(wallet, "500")
    services.transaction_withdraw(
        actor=wallet.owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount="150", pin=PIN
    )
    deposits.transaction_deposit(
        actor=wallet.owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount=Decimal("70")
    )
    verified_staff_login(client, StaffFactory(groups=["Finance"]))

    volume = squeezed(client.get("/admin/")).split("Today's volume")[1].split("Transactions per day")[0]

    # One deposit of 500 posted and one of 70 waiting: 570 created, 500.00 moved. The withdrawal waits: 0.00.
    assert "Deposit USD 2 1 500.00 USD" in volume
    assert "Withdrawal USD 1 0 0.00 USD" in volume


def test_recent_actions_read_the_object_as_it_is_now(client):
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("100"))
    wallet = make_wallet()
    deposit(wallet, "500")
    withdrawal = services.transaction_withdraw(
        actor=wallet.owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount="150", pin=PIN
    )
    finance = StaffFactory(groups=["Finance"])
    services.transaction_approve(actor=finance, transaction=withdrawal, reason="ok")
    verified_staff_login(client, finance)

    sidebar = squeezed(client.get("/admin/")).split("Your recent actions")[1]

    assert f"{finance.email} approved the withdrawal {str(withdrawal.pk)[:8]} of 150.00 USD" in sidebar
    assert "(pending)" not in sidebar


def test_fees_read_as_a_percentage(client):
    FeeRule.objects.create(kind="transfer", percent_bps=50)
    verified_staff_login(client, StaffFactory(groups=["Finance"]))

    page = squeezed(client.get(reverse("admin:transactions_feerule_changelist")))

    assert "Percentage" in page and "0.5 %" in page
    assert "PERCENT BPS" not in page.upper().replace("PERCENTAGE", "")


def test_the_transactions_list_finds_the_short_id_it_shows_and_a_reference(client):
    wallet = make_wallet()
    paid = deposit(wallet, "10")
    waiting = deposits.transaction_deposit(
        actor=wallet.owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount=Decimal("20")
    )
    verified_staff_login(client, StaffFactory(groups=["Finance"]))
    changelist = reverse("admin:transactions_transaction_changelist")

    by_short_id = client.get(changelist, {"q": str(paid.pk)[:8]}).content.decode()
    by_reference = client.get(changelist, {"q": waiting.reference.lower()}).content.decode()

    assert f'value="{paid.pk}"' in by_short_id and f'value="{waiting.pk}"' not in by_short_id
    assert f'value="{waiting.pk}"' in by_reference and f'value="{paid.pk}"' not in by_reference


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_background_jobs_read_in_words(client):
    finance = StaffFactory(groups=["Finance"])
    verified_staff_login(client, finance)
    client.post(reverse("operator_reconcile"))
    superuser = StaffFactory(is_superuser=True)
    verified_staff_login(client, superuser)

    page = squeezed(client.get("/admin/procrastinate/procrastinatejob/"))

    assert "Check the ledger (reconcile)" in page and ".reconcile_nightly" not in page
    assert re.search(r"due at \d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    assert "Todo" in page and "🗓" not in page
    assert "By lock" not in page and "By queueing lock" not in page
