"""The admin index is the operators' dashboard: liabilities, pending approvals, today's volume,
reconciliation status and a server-rendered chart of the last 30 days."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from balances.models import Currency
from balances.services import balance_freeze
from transactions import deposits, services
from transactions.models import ExchangeRate, ReconciliationRun, Transaction
from users.services import user_block
from users.tests.factories import StaffFactory, SuperuserFactory, UserFactory
from walletmanager.testing.ledger import PIN, deposit, make_wallet
from walletmanager.testing.two_factor import verified_staff_login


@pytest.mark.django_db
def test_dashboard_shows_liabilities_pending_volume_and_chart(client):
    wallet = make_wallet()
    deposit(wallet, "150.25")
    deposit(make_wallet(), "12345.6")
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("100"))
    services.transaction_withdraw(
        actor=wallet.owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount=Decimal("100"), pin=PIN
    )
    verified_staff_login(client, StaffFactory(groups=["Finance"]))

    page = client.get("/admin/").content.decode()

    assert "State of the business" in page
    # Money as operators read it: the currency's decimals, thousands separators, the code beside it.
    assert ">12,495.85 USD<" in page  # posted by clients: 150.25 + 12 345.60
    assert ">100.00 USD<" in page  # held by the pending withdrawal
    assert ">12,495.85 USD<" in page.split("Today's volume")[1]  # both deposits were today
    assert '<strong class="attention-count">0</strong> deposits waiting for their money' in page
    assert '<strong class="attention-count">1</strong> withdrawal waiting for approval' in page
    assert 'href="/admin/desk/#desk-withdrawals"' in page
    assert 'id="daily-volume-chart"' in page
    assert page.count("<rect ") == 30
    # Reconciliation: a run committed by an earlier transactional test (the browser tests' demo data)
    # may be there; without one the dashboard says so.
    if not ReconciliationRun.objects.exists():
        assert "Never checked yet." in page


@pytest.mark.django_db
def test_dashboard_shows_the_last_reconciliation_result(client):
    deposit(make_wallet(), "10")
    call_command("reconcile", stdout=open("/dev/null", "w"))
    verified_staff_login(client, SuperuserFactory())

    page = client.get("/admin/").content.decode()

    assert '<strong class="state-good">Clean</strong>' in page
    assert "checked 0\xa0minutes ago" in page


@pytest.mark.django_db
def test_dashboard_fetches_nothing_from_the_internet_and_runs_few_queries(client, django_assert_max_num_queries):
    for _ in range(5):
        deposit(make_wallet(), "5")
    verified_staff_login(client, SuperuserFactory())
    # 15 for the figures, 2 for the workers and jobs, 2 for the audit seal, 3 for what needs attention
    # (blocked users, frozen balances, stale rates), 1 for today's posted money, 1 for a reconciliation waiting
    # for the worker, 1 for the operator's recent actions
    with django_assert_max_num_queries(25):
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


def squeezed(response) -> str:
    return " ".join(response.content.decode().split())


@pytest.mark.django_db
def test_needs_attention_counts_what_waits_and_links_to_it(client, settings):
    settings.EXCHANGE_RATE_MAX_AGE = timedelta(hours=24)
    wallet = make_wallet()
    deposit(wallet, "500")
    deposits.transaction_deposit(
        actor=wallet.owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount=Decimal("20")
    )
    superuser = SuperuserFactory()
    user_block(actor=superuser, user=UserFactory(), reason="Chargebacks")
    user_block(actor=superuser, user=UserFactory(), reason="Chargebacks")
    balance_freeze(actor=superuser, balance=make_wallet().balance, reason="Court order")
    fresh, old = ExchangeRate.objects.bulk_create(
        [
            ExchangeRate(base_id="USD", quote_id="EUR", rate=Decimal("0.9"), source="test"),
            ExchangeRate(base_id="BTC", quote_id="USD", rate=Decimal("60000"), source="test"),
        ]
    )
    # 13 hours is past half the 24-hour maximum age: still usable, but it will not be for long
    ExchangeRate.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=13))
    verified_staff_login(client, superuser)

    page = squeezed(client.get("/admin/"))

    attention = page.split('id="needs-attention"')[1].split("</ul>")[0]
    count = '<strong class="attention-count">{}</strong>'.format
    assert f"{count(1)} deposit waiting for its money" in attention
    assert f"{count(0)} withdrawals waiting for approval" in attention
    assert f"{count(2)} blocked users" in attention and "?status__exact=blocked" in attention
    assert f"{count(1)} frozen balance" in attention and "?status__exact=frozen" in attention
    assert f"{count(1)} exchange rate older than 12 hours" in attention
    # What waits stands out; what is clear stays quiet.
    assert '<li class="attention-hot"><a id="pending-deposits"' in attention
    assert '<li class="attention-quiet"><a id="pending-approvals"' in attention
    assert '<li class="attention-warm"><a id="blocked-users"' in attention
    assert "the oldest for 0 minutes" in attention
    assert 'href="/admin/desk/#desk-deposits"' in attention


@pytest.mark.django_db
def test_the_30_day_chart_has_axes_dates_and_a_scale(client):
    wallet = make_wallet()
    for _ in range(4):
        deposit(wallet, "10")
    verified_staff_login(client, SuperuserFactory())

    page = squeezed(client.get("/admin/"))

    chart = page.split('id="daily-volume-chart"')[1].split("</svg>")[0]
    today = timezone.localdate()
    assert 'class="axis"' in chart
    assert f">{(today - timedelta(days=29)):%b %-d}</text>" in chart and f">{today:%b %-d}</text>" in chart
    # y axis: zero and the busiest day's count (4 deposits, each a pending row that was then posted)
    assert ">0</text>" in chart and f">{Transaction.objects.count()}</text>" in chart
    assert "transactions per day" in chart


@pytest.mark.django_db
def test_the_header_search_jumps_to_an_exact_match_and_lists_the_rest(client):
    wallet = make_wallet(owner=UserFactory(email="dana.client@example.com"))
    UserFactory(email="dana.other@example.com")
    paid = deposit(wallet, "10")
    verified_staff_login(client, StaffFactory(groups=["Support"]))

    page = client.get("/admin/").content.decode()
    by_email = client.get("/admin/search/", {"q": " Dana.Client@Example.com "})
    by_address = client.get("/admin/search/", {"q": wallet.address.lower()})
    by_transaction = client.get("/admin/search/", {"q": str(paid.pk)})
    by_wallet_id = client.get("/admin/search/", {"q": str(wallet.pk)})
    listed = squeezed(client.get("/admin/search/", {"q": "dana"}))
    nothing = squeezed(client.get("/admin/search/", {"q": "nobody-here"}))

    assert 'id="global-search"' in page and 'action="/admin/search/"' in page
    assert by_email.url == f"/admin/users/user/{wallet.owner_id}/change/"
    assert by_address.url == f"/admin/wallets/wallet/{wallet.pk}/change/"
    assert by_transaction.url == f"/admin/transactions/transaction/{paid.pk}/change/"
    assert by_wallet_id.url == f"/admin/wallets/wallet/{wallet.pk}/change/"
    assert "dana.client@example.com" in listed and "dana.other@example.com" in listed
    assert "Nothing found for “nobody-here”" in nothing


@pytest.mark.django_db
def test_the_header_search_finds_the_short_id_the_lists_show_and_a_deposits_reference(client):
    wallet = make_wallet()
    paid = deposit(wallet, "10")
    waiting = deposits.transaction_deposit(
        actor=wallet.owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount=Decimal("20")
    )
    verified_staff_login(client, StaffFactory(groups=["Finance"]))

    by_short_id = client.get("/admin/search/", {"q": str(paid.pk)[:8].upper()})
    by_reference = client.get("/admin/search/", {"q": waiting.reference.lower()})

    assert by_short_id.url == f"/admin/transactions/transaction/{paid.pk}/change/"
    assert by_reference.url == f"/admin/transactions/transaction/{waiting.pk}/change/"


@pytest.mark.django_db
def test_the_header_search_finds_only_what_the_operator_may_view(client):
    wallet = make_wallet(owner=UserFactory(email="erin@example.com"))
    verified_staff_login(client, StaffFactory())  # staff without any permission

    response = client.get("/admin/search/", {"q": "erin@example.com"})
    by_address = squeezed(client.get("/admin/search/", {"q": wallet.address}))

    assert response.status_code == 200 and "Nothing found" in squeezed(response)
    assert "Nothing found" in by_address
