"""The admin index is the operators' dashboard: liabilities, pending approvals, today's volume,
reconciliation status and a server-rendered chart of the last 30 days."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from balances.models import Currency
from transactions import services
from transactions.tests.conftest import PIN, deposit, make_wallet
from users.tests.factories import StaffFactory, SuperuserFactory
from walletmanager.testing.two_factor import verified_staff_login


@pytest.mark.django_db
def test_dashboard_shows_liabilities_pending_volume_and_chart(client):
    wallet = make_wallet()
    deposit(wallet, "150.25")
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("100"))
    services.transaction_withdraw(
        actor=wallet.owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount=Decimal("100"), pin=PIN
    )
    verified_staff_login(client, StaffFactory(groups=["Finance"]))

    page = client.get("/admin/").content.decode()

    assert "State of the business" in page
    assert "150.25" in page  # USD posted by clients
    assert "100.00" in page  # held by the pending withdrawal
    assert "<strong>1</strong> withdrawal waiting" in page
    assert "status__exact=pending&amp;kind__exact=withdrawal" in page
    assert 'id="daily-volume-chart"' in page
    assert page.count("<rect ") == 30
    assert "never run" in page  # reconciliation


@pytest.mark.django_db
def test_dashboard_shows_the_last_reconciliation_result(client):
    deposit(make_wallet(), "10")
    call_command("reconcile", stdout=open("/dev/null", "w"))
    verified_staff_login(client, SuperuserFactory())

    page = client.get("/admin/").content.decode()

    assert "clean" in page
    assert "last run" in page


@pytest.mark.django_db
def test_dashboard_fetches_nothing_from_the_internet_and_runs_few_queries(client, django_assert_max_num_queries):
    for _ in range(5):
        deposit(make_wallet(), "5")
    verified_staff_login(client, SuperuserFactory())
    with django_assert_max_num_queries(19):  # 15 for the figures, 2 for the workers and jobs, 2 for the audit seal
        page = client.get("/admin/").content.decode()
    assert "https://" not in page.split('id="operations-dashboard"')[1].split("</svg>")[0]


@pytest.mark.django_db
def test_operators_without_ledger_access_do_not_see_the_figures(client):
    verified_staff_login(client, StaffFactory())  # staff without any permission
    page = client.get("/admin/").content.decode()
    assert "State of the business" not in page


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_dashboard_shows_how_far_the_audit_trail_is_sealed(client):
    from walletmanager.audit_seal import audit_seal
    from walletmanager.models import AuditEvent

    deposit(make_wallet(), "10")
    verified_staff_login(client, SuperuserFactory())
    waiting = AuditEvent.objects.count()
    page = " ".join(client.get("/admin/").content.decode().split())
    assert f"nothing sealed yet, {waiting} events waiting for the next seal" in page

    (block,) = audit_seal(wait=5)

    page = " ".join(client.get("/admin/").content.decode().split())
    assert f"(events up to #{block.last_event_id})" in page and "0 events waiting for the next seal" in page
