"""POST/GET /api/transactions/ and the commands on one transaction (SPEC §7)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from balances.models import Currency
from transactions.models import Entry, ExchangeRate, FeeRule, Transaction
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, deposit, make_wallet, position

pytestmark = pytest.mark.django_db

URL = "/api/transactions/"


@pytest.fixture
def api(api_client, client_user):
    api_client.force_authenticate(client_user)
    return api_client


@pytest.fixture
def staff_api(api_client, staff):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(staff)
    return client


def test_a_clients_deposit_is_pending_with_a_reference_and_moves_nothing(api, wallet):
    response = api.post(
        URL, {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": "10.5", "description": "salary"}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) >= {
        "id",
        "kind",
        "status",
        "wallet",
        "currency",
        "amount",
        "fee",
        "to_wallet",
        "to_currency",
        "to_amount",
        "rate",
        "description",
        "reference",
        "received_amount",
        "created_at",
        "posted_at",
        "balance_after",
    }
    assert (body["kind"], body["status"], body["amount"], body["wallet"]) == (
        "deposit",
        "pending",
        "10.50",
        str(wallet.pk),
    )
    assert body["reference"].startswith("WM-") and body["received_amount"] is None and body["posted_at"] is None
    assert body["description"] == "salary" and body["to_amount"] is None and "reason" not in body
    assert position(wallet) == (0, 0, 0)
    assert not Entry.objects.exists()


def test_json_number_amount_is_exact(api, wallet):
    response = api.generic(
        "POST",
        URL,
        f'{{"kind": "deposit", "wallet": "{wallet.pk}", "currency": "USD", "amount": 0.1}}',
        content_type="application/json",
    )
    assert response.status_code == 201
    assert Transaction.objects.get(pk=response.json()["id"]).amount == Decimal("0.1")


def test_withdrawal_transfer_and_exchange_bodies(api, client_user, funded_wallet, other_wallet):
    response = api.post(
        URL, {"kind": "withdrawal", "wallet": str(funded_wallet.pk), "currency": "USD", "amount": "10", "pin": PIN}
    )
    assert response.status_code == 201 and response.json()["balance_after"]["available"] == "90.00"

    response = api.post(
        URL,
        {
            "kind": "transfer",
            "wallet": str(funded_wallet.pk),
            "to_address": other_wallet.address,
            "currency": "USD",
            "amount": "5",
            "pin": PIN,
        },
    )
    assert response.status_code == 201 and response.json()["to_wallet"] == str(other_wallet.pk)

    multi = make_wallet(owner=client_user, balance_kind="multi", currency=None)
    deposit(multi, "10", "USD")
    ExchangeRate.objects.create(base_id="EUR", quote_id="USD", rate=Decimal("2"))
    response = api.post(
        URL, {"kind": "exchange", "wallet": str(multi.pk), "from_currency": "USD", "to_currency": "EUR", "amount": "3"}
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["to_amount"], response.json()["rate"], response.json()["to_currency"]) == (
        "1.50",
        "0.5",
        "EUR",
    )


def test_business_refusals_are_409_with_code(api, funded_wallet):
    response = api.post(
        URL, {"kind": "withdrawal", "wallet": str(funded_wallet.pk), "currency": "USD", "amount": "1000", "pin": PIN}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_funds"


def test_wrong_pin_is_403_invalid_pin(api, funded_wallet):
    response = api.post(
        URL, {"kind": "withdrawal", "wallet": str(funded_wallet.pk), "currency": "USD", "amount": "1", "pin": "0000"}
    )

    assert (response.status_code, response.json()["code"]) == (403, "invalid_pin")


def test_unknown_address_and_other_users_wallet_are_404(api, funded_wallet, other_wallet):
    response = api.post(
        URL,
        {
            "kind": "transfer",
            "wallet": str(funded_wallet.pk),
            "to_address": "UNKNOWN",
            "currency": "USD",
            "amount": "1",
            "pin": PIN,
        },
    )
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    response = api.post(URL, {"kind": "deposit", "wallet": str(other_wallet.pk), "currency": "USD", "amount": "1"})
    assert response.status_code == 404


def test_adjustment_is_a_request_a_second_operator_approves(api, staff_api, wallet, staff):
    body = {
        "kind": "adjustment",
        "wallet": str(wallet.pk),
        "currency": "USD",
        "amount": "3",
        "direction": "credit",
        "reason": "gift",
    }

    refused = api.post(URL, body)
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    response = staff_api.post(URL, body)
    assert response.status_code == 202, response.content
    request = response.json()
    assert (request["action"], request["status"], request["requested_by"]) == ("adjust", "pending", staff.email)
    assert position(wallet)[0] == Decimal(0)

    same = staff_api.post(f"/api/approvals/{request['id']}/approve/", {})
    assert (same.status_code, same.json()["code"]) == (403, "same_operator")
    checker = second_operator()
    approved = checker.post(f"/api/approvals/{request['id']}/approve/", {"reason": "checked the ticket"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    adjustment = Transaction.objects.get(kind="adjustment")
    assert approved.json()["result"] == {"transaction": str(adjustment.pk)}
    assert position(wallet)[0] == Decimal(3)


def test_amount_with_too_many_decimals_names_the_field(api, wallet):
    response = api.post(URL, {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": "1.001"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == ["amount"]


def test_unauthenticated_is_401(api_client):
    assert api_client.post(URL, {"kind": "deposit"}).status_code == 401
    assert api_client.get(URL).status_code == 401


# --- reads ---------------------------------------------------------------------------------------


def test_list_shows_own_transactions_incoming_included(api, funded_wallet, client_user):
    sender = make_wallet()
    deposit(sender, "10")
    from transactions import services

    services.transaction_transfer(
        actor=sender.owner,
        wallet=sender,
        to_address=funded_wallet.address,
        currency=Currency.objects.get(code="USD"),
        amount="1",
        pin=PIN,
    )
    deposit(make_wallet(), "5")  # someone else's

    body = api.get(URL).json()

    assert set(body) == {"next", "previous", "results"}  # no total: see UncountedPageNumberPagination
    assert [item["kind"] for item in body["results"]] == ["transfer", "deposit"]
    assert body["results"][0]["balance_after"] is None


def test_list_filters_and_ordering(api, funded_wallet):
    deposit(funded_wallet, "5")
    deposit(funded_wallet, "50")

    assert [r["amount"] for r in api.get(URL, {"ordering": "amount"}).json()["results"]] == ["5.00", "50.00", "100.00"]
    assert [r["amount"] for r in api.get(URL, {"amount_min": "10", "amount_max": "60"}).json()["results"]] == ["50.00"]
    assert (
        len(
            api.get(
                URL, {"wallet": str(funded_wallet.pk), "kind": "deposit", "status": "posted", "currency": "USD"}
            ).json()["results"]
        )
        == 3
    )
    assert len(api.get(URL, {"kind": "withdrawal"}).json()["results"]) == 0
    assert len(api.get(URL, {"created_after": "2999-01-01T00:00:00Z"}).json()["results"]) == 0
    assert len(api.get(URL, {"created_before": "2999-01-01T00:00:00Z"}).json()["results"]) == 3
    assert api.get(URL, {"amount_min": "NaN"}).status_code == 400
    assert api.get(URL, {"wallet": "not-a-uuid"}).status_code == 400


def test_date_filters_take_any_offset_python_reads_as_the_same_instant_in_utc(api, funded_wallet):
    """PostgreSQL refuses offsets past ±15:59; the filter compares the instant in UTC instead (was a 500)."""
    created = Transaction.objects.get().created_at

    # 16:00 ahead of UTC: the same instant as 16 hours before in UTC, long before the deposit.
    before = (created - timedelta(hours=16)).replace(tzinfo=None).isoformat() + "+00:00"
    far_east = (created).replace(tzinfo=None).isoformat() + "+16:00"
    assert [r["amount"] for r in api.get(URL, {"created_after": far_east}).json()["results"]] == ["100.00"]
    assert api.get(URL, {"created_before": far_east}).json()["results"] == []
    assert len(api.get(URL, {"created_after": before}).json()["results"]) == 1
    late = api.get(URL, {"created_before": "0001-01-01T00:00:00+20:00"})
    assert late.status_code == 400 and late.json()["fields"]["created_before"][0]["code"] == "out_of_range"
    assert api.get(URL, {"ordering": "pin"}).status_code == 400


def test_date_filters_normalise_offsets_postgresql_refuses(api, funded_wallet):
    """Python and ISO 8601 accept offsets up to ±23:59, PostgreSQL only ±15:59: the filters convert to UTC."""
    # 2000-01-01T00:00:00+16:00 is 1999-12-31T08:00Z: everything is after it, nothing before it.
    assert len(api.get(URL, {"created_after": "2000-01-01T00:00:00+16:00"}).json()["results"]) == 1
    assert api.get(URL, {"created_before": "2000-01-01T00:00:00-20:00"}).json()["results"] == []
    assert len(api.get(URL, {"created_before": "2999-01-01T00:00:00+23:59"}).json()["results"]) == 1


def test_date_filters_refuse_an_instant_beyond_year_one_or_9999(api, funded_wallet):
    for name, value in (
        ("created_after", "0001-01-01T00:00:00+16:00"),
        ("created_before", "9999-12-31T23:59:59-20:00"),
    ):
        response = api.get(URL, {name: value})

        assert response.status_code == 400, response.content
        body = response.json()
        assert body["code"] == "invalid"
        assert body["fields"][name][0]["code"] == "out_of_range"
        assert "out of range" in body["fields"][name][0]["detail"]


def test_list_query_count_is_constant(api, funded_wallet, django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as few:
        api.get(URL)
    for _ in range(15):
        deposit(funded_wallet, "1")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get(URL).json()["results"]) == 16


def test_list_pages_link_forward_and_back_without_counting(api, funded_wallet):
    for amount in ("1", "2", "3", "4"):
        deposit(funded_wallet, amount)

    first = api.get(URL, {"page_size": 2, "ordering": "amount"}).json()
    assert [r["amount"] for r in first["results"]] == ["1.00", "2.00"]
    assert first["previous"] is None and "page=2" in first["next"]
    second = api.get(first["next"]).json()
    assert [r["amount"] for r in second["results"]] == ["3.00", "4.00"]
    assert "page=" not in second["previous"]  # back to the first page
    last = api.get(second["next"]).json()
    assert [r["amount"] for r in last["results"]] == ["100.00"] and last["next"] is None
    assert api.get(URL, {"page": 9}).status_code == 404
    assert api.get(URL, {"page": "x"}).json() == {"code": "not_found", "detail": "Invalid page."}


def test_detail_hides_entries_from_clients_and_shows_them_to_staff(api, staff_api, funded_wallet):
    tx = Transaction.objects.get()

    assert "entries" not in api.get(f"{URL}{tx.pk}/").json()
    entries = staff_api.get(f"{URL}{tx.pk}/").json()["entries"]
    assert sorted(e["amount"] for e in entries) == ["-100.00", "100.00"]


def test_other_users_transaction_and_bad_ids_are_404(funded_wallet, api_client):
    tx = Transaction.objects.get()
    api_client.force_authenticate(UserFactory())

    for path in [f"{URL}{tx.pk}/", f"{URL}not-a-uuid/", f"{URL}{'9' * 500}/"]:
        assert api_client.get(path).status_code == 404
    assert api_client.post(f"{URL}{tx.pk}/cancel/").status_code == 404


# --- commands ------------------------------------------------------------------------------------


@pytest.fixture
def pending(funded_wallet, usd):
    from transactions import services

    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("50"))
    usd.refresh_from_db()
    return services.transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="60", pin=PIN
    )


def test_pending_withdrawal_then_cancel_once(api, pending, funded_wallet):
    response = api.post(f"{URL}{pending.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["balance_after"] == {"posted": "100.00", "held": "0.00", "available": "100.00"}

    response = api.post(f"{URL}{pending.pk}/cancel/")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")


def test_staff_approve_and_reject(api, staff_api, pending, funded_wallet, usd):
    assert api.post(f"{URL}{pending.pk}/approve/").status_code == 403
    response = staff_api.post(f"{URL}{pending.pk}/approve/", {"reason": "ok"})
    assert response.status_code == 200 and response.json()["status"] == "posted"
    assert staff_api.post(f"{URL}{pending.pk}/reject/", {"reason": "late"}).json()["code"] == "invalid_state"
    assert position(funded_wallet) == (Decimal(40), 0, Decimal(40))


def test_reject_requires_a_reason(staff_api, pending):
    response = staff_api.post(f"{URL}{pending.pk}/reject/", {})
    assert response.status_code == 400 and list(response.json()["fields"]) == ["reason"]
    response = staff_api.post(f"{URL}{pending.pk}/reject/", {"reason": "fraud"})
    assert response.json()["status"] == "rejected"


def test_reverse_answers_202_with_a_request_that_a_second_operator_approves(staff_api, api, funded_wallet):
    tx = Transaction.objects.get()
    assert api.post(f"{URL}{tx.pk}/reverse/", {"reason": "x"}).status_code == 403

    response = staff_api.post(f"{URL}{tx.pk}/reverse/", {"reason": "chargeback"})

    assert response.status_code == 202
    assert (response.json()["action"], response.json()["payload"]) == ("reverse", {"transaction": str(tx.pk)})
    tx.refresh_from_db()
    assert tx.status == "posted"
    approved = second_operator().post(f"/api/approvals/{response.json()['id']}/approve/", {})
    reversal = Transaction.objects.get(kind="reversal")
    assert approved.json()["result"] == {"transaction": str(reversal.pk), "reverses": str(tx.pk)}
    again = staff_api.post(f"{URL}{tx.pk}/reverse/", {"reason": "chargeback"})
    assert (again.status_code, again.json()["code"]) == (409, "already_reversed")
    assert AuditEvent.objects.filter(action="deposit.reversed").count() == 1


def test_rates_lists_the_newest_rate_per_pair(api):
    ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.8"))
    ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.9"))
    ExchangeRate.objects.create(base_id="BTC", quote_id="USD", rate=Decimal("30000.5"))

    results = api.get("/api/rates/").json()["results"]

    assert [(r["base"], r["quote"], r["rate"]) for r in results] == [("BTC", "USD", "30000.5"), ("USD", "EUR", "0.9")]


def test_browsable_api_renders_the_post_form(api):
    response = api.get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"_content" in response.content or b"raw" in response.content.lower()


def test_fee_rounding_through_the_api(api, wallet, usd):
    FeeRule.objects.create(kind="deposit", currency=usd, percent_bps=1)  # 0.01 %
    pending = api.post(URL, {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": "10.01"}).json()
    assert pending["fee"] == "0.00"  # computed on what arrives
    response = second_operator().post(f"{URL}{pending['id']}/confirm/", {"reason": "wire seen"})
    assert response.json()["fee"] == "0.01"  # 0.001001 rounded UP
    assert Entry.objects.filter(wallet__system_role="fees").get().amount == Decimal("0.01")


def second_operator():
    """Another Finance operator, logged in to the API: the checker of a maker's request."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(StaffFactory(groups=["Finance"]))
    return client
