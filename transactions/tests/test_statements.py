"""Balance as of an instant and running-balance statements (SPEC §14): selectors and API.

Times come from the rows the database stamped (an entry's ``created_at`` is the moment its asset's
position moved), read back after the fact, never from sleeping."""

import csv
import io
from datetime import timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from balances.models import Currency
from transactions import services
from transactions.models import Entry, ExchangeRate, Transaction
from transactions.statements import asset_balance_as_of, statement
from users.tests.factories import UserFactory
from walletmanager.testing.ledger import PIN, deposit, make_wallet, post_adjustment

pytestmark = pytest.mark.django_db


def balance_url(wallet) -> str:
    return f"/api/wallets/{wallet.pk}/balance/"


def statement_url(wallet) -> str:
    return f"/api/wallets/{wallet.pk}/statement/"


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def entries_of(wallet, currency: str = "USD") -> list[Entry]:
    return list(Entry.objects.filter(wallet=wallet, currency_id=currency).order_by("sequence"))


def iso(instant) -> str:
    return instant.isoformat()


@pytest.fixture
def history(client_user, other_wallet, usd):
    """A multi-currency wallet that received, spent, sent, got back and exchanged, in this order."""
    wallet = make_wallet(owner=client_user, balance_kind="multi", currency=None)
    deposit(wallet, "100")
    deposit(wallet, "50")
    services.transaction_withdraw(
        actor=client_user, wallet=wallet, currency=usd, amount="30", pin=PIN, description="rent"
    )
    services.transaction_transfer(
        actor=client_user,
        wallet=wallet,
        to_address=other_wallet.address,
        currency=usd,
        amount="20",
        pin=PIN,
        description="dinner",
    )
    deposit(other_wallet, "10")
    services.transaction_transfer(
        actor=other_wallet.owner, wallet=other_wallet, to_address=wallet.address, currency=usd, amount="5", pin=PIN
    )
    ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.5"))
    services.transaction_exchange(
        actor=client_user, wallet=wallet, from_currency=usd, to_currency=Currency.objects.get(code="EUR"), amount="40"
    )
    return wallet


# --- statements ----------------------------------------------------------------------------------


def test_statement_shows_running_balances_counterparties_and_the_opening_and_closing_balances(
    history, client_user, other_wallet
):
    entries = entries_of(history)
    assert [entry.sequence for entry in entries] == [1, 2, 3, 4, 5, 6]
    # From the second entry to the fifth: the first and the last are outside the range.
    response = client_of(client_user).get(
        statement_url(history),
        {"currency": "USD", "from": iso(entries[1].created_at), "to": iso(entries[4].created_at)},
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["wallet"], body["currency"], body["opening_balance"], body["closing_balance"]) == (
        str(history.pk),
        "USD",
        "100.00",
        "105.00",
    )
    assert (body["next"], body["previous"]) == (None, None)
    assert [
        (line["sequence"], line["kind"], line["description"], line["amount"], line["balance_after"])
        for line in body["results"]
    ] == [
        (2, "deposit", "Deposit", "50.00", "150.00"),
        (3, "withdrawal", "Withdrawal: rent", "-30.00", "120.00"),
        (4, "transfer", f"Transfer to {other_wallet.address}: dinner", "-20.00", "100.00"),
        (5, "transfer", f"Transfer from {other_wallet.address}", "5.00", "105.00"),
    ]
    assert [line["transaction"] for line in body["results"]] == [str(entry.transaction_id) for entry in entries[1:5]]
    assert body["results"][0]["created_at"].startswith(entries[1].created_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_exchange_shows_on_both_currencies_statements(history, client_user):
    usd = client_of(client_user).get(statement_url(history), {"currency": "usd", "from": "2000-01-01"}).json()
    eur = client_of(client_user).get(statement_url(history), {"currency": "EUR", "from": "2000-01-01"}).json()

    assert (usd["opening_balance"], usd["closing_balance"]) == ("0.00", "65.00")
    assert usd["results"][-1]["description"] == "Exchange USD → EUR"
    assert (usd["results"][-1]["amount"], usd["results"][-1]["balance_after"]) == ("-40.00", "65.00")
    assert [(line["description"], line["amount"], line["balance_after"]) for line in eur["results"]] == [
        ("Exchange USD → EUR", "20.00", "20.00")
    ]
    assert (eur["opening_balance"], eur["closing_balance"]) == ("0.00", "20.00")


def test_the_other_party_of_a_transfer_sees_the_senders_address_never_their_name_or_a_reason(
    history, other_wallet, client_user
):
    post_adjustment(other_wallet, "3")  # its description repeats the staff reason, "test set-up"
    response = client_of(other_wallet.owner).get(statement_url(other_wallet), {"currency": "USD", "from": "2000-01-01"})

    assert response.status_code == 200
    lines = [(line["description"], line["amount"], line["balance_after"]) for line in response.json()["results"]]
    assert lines == [
        (f"Transfer from {history.address}: dinner", "20.00", "20.00"),
        ("Deposit", "10.00", "30.00"),
        (f"Transfer to {history.address}", "-5.00", "25.00"),
        ("Adjustment (credit)", "3.00", "28.00"),
    ]
    text = response.content.decode()
    for private in (client_user.email, client_user.first_name, client_user.last_name, "test set-up"):
        assert private not in text


def test_statement_pages_chain_their_running_balances(funded_wallet, client_user):
    for amount in range(1, 6):
        deposit(funded_wallet, amount)
    api = client_of(client_user)

    first = api.get(statement_url(funded_wallet), {"currency": "USD", "from": "2000-01-01", "page_size": 4}).json()
    second = api.get(first["next"]).json()

    assert [line["balance_after"] for line in first["results"]] == ["100.00", "101.00", "103.00", "106.00"]
    assert [line["balance_after"] for line in second["results"]] == ["110.00", "115.00"]
    assert (second["next"], second["opening_balance"], second["closing_balance"]) == (None, "0.00", "115.00")
    assert second["previous"] is not None


@pytest.fixture
def ten_dollars_and_euros(multi_wallet):
    """USD deposits of 1, 2 … 10 (USD sequences 1 … 10, running balances 1, 3, 6 … 55) with a EUR
    deposit after each, so the wallet's entries interleave two assets' numbers."""
    for amount in range(1, 11):
        deposit(multi_wallet, amount)
        deposit(multi_wallet, "7", "EUR")
    return multi_wallet


def page_of(api, wallet, query: dict, page: int | None = None):
    params = {"currency": "USD", "page_size": 3, **query}
    if page is not None:
        params["page"] = page
    return api.get(statement_url(wallet), params)


def lines(body) -> list[tuple[int, str, str]]:
    return [(line["sequence"], line["amount"], line["balance_after"]) for line in body["results"]]


def page_param(link: str | None) -> list[str] | None:
    return None if link is None else parse_qs(urlsplit(link).query).get("page")


def test_statement_pages_are_exact_slices_of_a_range_that_starts_mid_history(ten_dollars_and_euros, client_user):
    usd = entries_of(ten_dollars_and_euros)
    # USD entries 3 … 9: seven entries, pages of 3, 3 and 1.
    query = {"from": iso(usd[2].created_at), "to": iso(usd[8].created_at)}
    api = client_of(client_user)

    first, middle, last = (page_of(api, ten_dollars_and_euros, query, page).json() for page in (1, 2, 3))

    assert lines(first) == [(3, "3.00", "6.00"), (4, "4.00", "10.00"), (5, "5.00", "15.00")]
    assert lines(middle) == [(6, "6.00", "21.00"), (7, "7.00", "28.00"), (8, "8.00", "36.00")]
    assert lines(last) == [(9, "9.00", "45.00")]
    for body in (first, middle, last):
        assert (body["opening_balance"], body["closing_balance"]) == ("3.00", "45.00")
    assert (page_param(first["previous"]), page_param(first["next"])) == (None, ["2"])
    assert first["previous"] is None
    assert (page_param(middle["previous"]), page_param(middle["next"])) == (None, ["3"])
    assert middle["previous"] is not None  # page 1's link names no page
    assert (page_param(last["previous"]), last["next"]) == (["2"], None)
    assert api.get(middle["next"]).json() == last
    assert page_of(api, ten_dollars_and_euros, query, 4).status_code == 404


def test_a_range_that_fills_its_last_page_has_no_next_page(ten_dollars_and_euros, client_user):
    usd = entries_of(ten_dollars_and_euros)
    query = {"from": iso(usd[2].created_at), "to": iso(usd[7].created_at)}  # entries 3 … 8
    api = client_of(client_user)

    second = page_of(api, ten_dollars_and_euros, query, 2).json()

    assert lines(second) == [(6, "6.00", "21.00"), (7, "7.00", "28.00"), (8, "8.00", "36.00")]
    assert (second["next"], second["closing_balance"]) == (None, "36.00")
    assert page_of(api, ten_dollars_and_euros, query, 3).status_code == 404


def test_the_whole_history_pages_from_sequence_one_to_the_last(ten_dollars_and_euros, client_user):
    api = client_of(client_user)
    body = page_of(api, ten_dollars_and_euros, {"from": "2000-01-01"}).json()
    seen = lines(body)
    while body["next"]:
        body = api.get(body["next"]).json()
        seen += lines(body)

    assert [sequence for sequence, _, _ in seen] == list(range(1, 11))
    assert seen[-1] == (10, "10.00", "55.00")
    euros = page_of(api, ten_dollars_and_euros, {"currency": "EUR", "from": "2000-01-01", "page": 4}).json()
    assert (lines(euros), euros["next"]) == ([(10, "7.00", "70.00")], None)


def test_an_empty_range_has_one_empty_page(ten_dollars_and_euros, client_user):
    usd = entries_of(ten_dollars_and_euros)
    after = usd[-1].created_at + timedelta(microseconds=1)
    query = {"from": iso(after), "to": iso(after + timedelta(days=1))}
    api = client_of(client_user)

    body = page_of(api, ten_dollars_and_euros, query).json()

    assert (body["results"], body["next"], body["previous"]) == ([], None, None)
    assert (body["opening_balance"], body["closing_balance"]) == ("55.00", "55.00")
    assert page_of(api, ten_dollars_and_euros, query, 2).status_code == 404


@pytest.mark.parametrize("page", ["0", "-1", "two", "1000001"])
def test_a_page_that_is_not_a_page_number_is_404(ten_dollars_and_euros, client_user, page):
    response = page_of(client_of(client_user), ten_dollars_and_euros, {"from": "2000-01-01"}, page)

    assert response.status_code == 404


def test_a_date_covers_the_whole_day(funded_wallet, client_user):
    day = Entry.objects.get(wallet=funded_wallet).created_at.date()
    api = client_of(client_user)

    that_day = api.get(
        statement_url(funded_wallet), {"currency": "USD", "from": day.isoformat(), "to": day.isoformat()}
    ).json()
    next_day = (day + timedelta(days=1)).isoformat()
    after = api.get(statement_url(funded_wallet), {"currency": "USD", "from": next_day, "to": next_day}).json()

    assert [line["amount"] for line in that_day["results"]] == ["100.00"]
    assert (that_day["from"], that_day["to"]) == (f"{day.isoformat()}T00:00:00Z", f"{day.isoformat()}T23:59:59.999999Z")
    assert (after["results"], after["opening_balance"], after["closing_balance"]) == ([], "100.00", "100.00")


def test_statement_selector_reads_entries_between_its_two_probes(funded_wallet):
    deposit(funded_wallet, "1")
    first, second = entries_of(funded_wallet)

    result = statement(wallet=funded_wallet, currency="USD", date_from=second.created_at, date_to=second.created_at)

    assert (result.opening_balance, result.closing_balance, result.entry_count) == (Decimal(100), Decimal(101), 1)
    assert list(result.entries) == [second]


# --- balance as of -------------------------------------------------------------------------------


def test_a_pending_withdrawal_is_held_while_pending_and_not_after_it_was_rejected(
    funded_wallet, client_user, usd, staff
):
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("50"))
    usd.refresh_from_db()
    pending = services.transaction_withdraw(actor=client_user, wallet=funded_wallet, currency=usd, amount="60", pin=PIN)
    services.transaction_reject(actor=staff, transaction=pending, reason="suspicious destination")
    pending = Transaction.objects.get(pk=pending.pk)
    started, ended = pending.created_at, pending.resolved_at
    api = client_of(client_user)

    def assets_at(at) -> list[dict]:
        response = api.get(balance_url(funded_wallet), {"at": iso(at)})
        assert response.status_code == 200, response.json()
        return response.json()["assets"]

    held = [{"currency": "USD", "posted": "100.00", "held": "60.00", "available": "40.00"}]
    free = [{"currency": "USD", "posted": "100.00", "held": "0.00", "available": "100.00"}]
    assert assets_at(started) == held
    assert assets_at(started + (ended - started) / 2) == held
    assert assets_at(ended) == free
    assert assets_at(ended + timedelta(seconds=1)) == free
    assert assets_at(started - timedelta(microseconds=1)) == free


def test_an_approved_withdrawal_is_held_then_posted(funded_wallet, client_user, usd, staff):
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("50"))
    usd.refresh_from_db()
    pending = services.transaction_withdraw(actor=client_user, wallet=funded_wallet, currency=usd, amount="60", pin=PIN)
    services.transaction_approve(actor=staff, transaction=pending)
    pending = Transaction.objects.get(pk=pending.pk)
    debit = Entry.objects.get(transaction=pending, wallet=funded_wallet)

    during = asset_balance_as_of(wallet=funded_wallet, at=pending.created_at)[0]
    after = asset_balance_as_of(wallet=funded_wallet, at=debit.created_at)[0]

    assert (during.posted, during.held, during.available) == (Decimal(100), Decimal(60), Decimal(40))
    assert (after.posted, after.held, after.available) == (Decimal(40), Decimal(0), Decimal(40))


def test_balance_as_of_a_time_before_the_first_entry_is_zero(funded_wallet, client_user):
    first = Entry.objects.get(wallet=funded_wallet)
    api = client_of(client_user)

    before = api.get(balance_url(funded_wallet), {"at": iso(first.created_at - timedelta(microseconds=1))}).json()
    at_it = api.get(balance_url(funded_wallet), {"at": iso(first.created_at)}).json()
    now = api.get(balance_url(funded_wallet)).json()

    assert before["wallet"] == str(funded_wallet.pk)
    assert before["assets"] == [{"currency": "USD", "posted": "0.00", "held": "0.00", "available": "0.00"}]
    assert at_it["assets"] == [{"currency": "USD", "posted": "100.00", "held": "0.00", "available": "100.00"}]
    assert now["assets"] == at_it["assets"]


def test_available_adds_the_current_credit_limit(client_user):
    wallet = make_wallet(owner=client_user, kind="credit", credit_limit=Decimal("500"))
    deposit(wallet, "20")
    first = Entry.objects.get(wallet=wallet)

    (asset,) = asset_balance_as_of(wallet=wallet, at=first.created_at - timedelta(seconds=1))

    assert (asset.posted, asset.held, asset.credit_limit, asset.available) == (0, 0, Decimal(500), Decimal(500))


def test_an_offset_postgresql_refuses_is_normalised_to_utc(funded_wallet, client_user):
    first = Entry.objects.get(wallet=funded_wallet)
    shifted = first.created_at.astimezone(dt_timezone(timedelta(hours=23)))

    response = client_of(client_user).get(balance_url(funded_wallet), {"at": shifted.isoformat()})

    assert response.status_code == 200, response.json()
    assert response.json()["at"] == first.created_at.isoformat().replace("+00:00", "Z")
    assert response.json()["assets"][0]["posted"] == "100.00"


# --- downloads -----------------------------------------------------------------------------------


def test_csv_has_a_header_and_one_row_per_entry(history, client_user, other_wallet):
    response = client_of(client_user).get(
        statement_url(history), {"currency": "USD", "from": "2000-01-01", "format": "csv"}
    )

    assert response.status_code == 200
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="statement-{history.address}-USD-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "sequence",
        "created_at",
        "transaction",
        "kind",
        "description",
        "amount",
        "balance_after",
        "currency",
    ]
    entries = entries_of(history)
    assert len(rows) == 1 + len(entries) == 7
    assert [row[0] for row in rows[1:]] == [str(entry.sequence) for entry in entries]
    assert rows[4][2:] == [
        str(entries[3].transaction_id),
        "transfer",
        f"Transfer to {other_wallet.address}: dinner",
        "-20.00",
        "100.00",
        "USD",
    ]
    assert rows[-1][4:7] == ["Exchange USD → EUR", "-40.00", "65.00"]


def test_pdf_is_a_pdf(history, client_user):
    response = client_of(client_user).get(
        statement_url(history), {"currency": "USD", "from": "2000-01-01", "format": "pdf"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"].endswith('.pdf"')


def test_staff_see_a_clients_statement_and_balance(history, staff):
    api = client_of(staff)

    assert (
        api.get(statement_url(history), {"currency": "USD", "from": "2000-01-01"}).json()["closing_balance"] == "65.00"
    )
    assert api.get(balance_url(history)).json()["assets"] == [
        {"currency": "EUR", "posted": "20.00", "held": "0.00", "available": "20.00"},
        {"currency": "USD", "posted": "65.00", "held": "0.00", "available": "65.00"},
    ]


def test_another_client_gets_404_and_anonymous_401(funded_wallet):
    stranger = client_of(UserFactory())
    anonymous = APIClient()
    query = {"currency": "USD", "from": "2000-01-01"}

    for url, params in (
        (balance_url(funded_wallet), {}),
        (statement_url(funded_wallet), query),
        (statement_url(funded_wallet), {**query, "format": "csv"}),
    ):
        response = stranger.get(url, params)
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "detail": "No such wallet."}
        assert anonymous.get(url, params).status_code == 401
    assert stranger.get("/api/wallets/not-a-uuid/statement/", query).status_code == 404


def test_a_system_wallet_has_no_statement_or_balance_even_for_staff(system_wallet, staff, client_user):
    query = {"currency": "USD", "from": "2000-01-01"}
    for who in (client_of(staff), client_of(client_user)):
        for url, params in ((balance_url(system_wallet), {}), (statement_url(system_wallet), query)):
            response = who.get(url, params)
            assert (response.status_code, response.json()) == (404, {"code": "not_found", "detail": "No such wallet."})


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2000-01-01"}, "currency"),
        ({"currency": "XYZ", "from": "2000-01-01"}, "currency"),
        ({"currency": "EUR", "from": "2000-01-01"}, "currency"),
        ({"currency": "USD"}, "from"),
        ({"currency": "USD", "from": "yesterday"}, "from"),
        ({"currency": "USD", "from": "2026-13-01T00:00:00Z"}, "from"),
        ({"currency": "USD", "from": "0001-01-01T00:00:00+01:00"}, "from"),
        ({"currency": "USD", "from": "2026-11-02", "to": "2026-11-01"}, "from"),
        ({"currency": "USD", "from": "2026-11-01", "to": "2026-11-01T25:00"}, "to"),
        ({"currency": "USD", "from": "2026-11-01", "format": "xml"}, "format"),
        ({"currency": "U" * 300, "from": "2026-11-01"}, "currency"),
    ],
)
def test_bad_statement_queries_are_400_naming_the_field(funded_wallet, client_user, params, field):
    response = client_of(client_user).get(statement_url(funded_wallet), params)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == [field], response.json()


@pytest.mark.parametrize(
    "at", ["soon", "2026-02-30", "9999-12-31T23:59:59-01:00", "2026-11-01T10:00:00+99:00", "x" * 500]
)
def test_bad_instants_are_400_naming_at(funded_wallet, client_user, at):
    response = client_of(client_user).get(balance_url(funded_wallet), {"at": at})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == ["at"], response.json()


def test_an_unknown_or_never_held_currency_is_explained(funded_wallet, client_user):
    api = client_of(client_user)

    unknown = api.get(statement_url(funded_wallet), {"currency": "XYZ", "from": "2000-01-01"}).json()
    never = api.get(statement_url(funded_wallet), {"currency": "EUR", "from": "2000-01-01"}).json()

    assert unknown["fields"] == {"currency": [{"code": "invalid", "detail": "Unknown currency 'XYZ'."}]}
    assert never["fields"] == {"currency": [{"code": "invalid", "detail": "This wallet has never held EUR."}]}


# --- cost ----------------------------------------------------------------------------------------


def test_statement_page_queries_do_not_grow_with_rows(
    funded_wallet, client_user, other_wallet, django_assert_max_num_queries
):
    api = client_of(client_user)
    query = {"currency": "USD", "from": "2000-01-01", "page_size": 200}
    with django_assert_max_num_queries(8) as few:
        assert len(api.get(statement_url(funded_wallet), query).json()["results"]) == 1

    for _ in range(15):
        services.transaction_transfer(
            actor=client_user,
            wallet=funded_wallet,
            to_address=other_wallet.address,
            currency=Currency.objects.get(code="USD"),
            amount="1",
            pin=PIN,
        )
        deposit(funded_wallet, "2")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get(statement_url(funded_wallet), query).json()["results"]) == 31
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get(balance_url(funded_wallet)).json()["assets"]) == 1


# --- documentation -------------------------------------------------------------------------------


def test_both_endpoints_are_documented_in_the_schema_without_warnings(tmp_path):
    schema_file = tmp_path / "schema.yaml"

    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--urlconf",
        "transactions.urls",
        "--file",
        str(schema_file),
        skip_checks=True,
        stderr=io.StringIO(),
    )

    paths = yaml.safe_load(schema_file.read_text())["paths"]
    balance, statement_operation = paths["/wallets/{id}/balance/"]["get"], paths["/wallets/{id}/statement/"]["get"]
    assert {parameter["name"] for parameter in balance["parameters"]} == {"id", "at"}
    assert {
        (parameter["name"], parameter.get("required", False)) for parameter in statement_operation["parameters"]
    } == {
        ("id", True),
        ("currency", True),
        ("from", True),
        ("to", False),
        ("format", False),
        ("page", False),
        ("page_size", False),
    }
    for operation in (balance, statement_operation):
        assert {"200", "400", "401", "404"} <= set(operation["responses"])
    assert set(statement_operation["responses"]["200"]["content"]) == {
        "application/json",
        "text/csv",
        "application/pdf",
    }


def test_amounts_are_plain_digits_at_the_currencys_decimals(client_user):
    wallet = make_wallet(owner=client_user, balance_kind="multi", currency=None)
    deposit(wallet, "0.5", "BTC")
    deposit(wallet, "12345678901.000000000000000001", "ETH")
    btc, eth = Entry.objects.get(wallet=wallet, currency_id="BTC"), Entry.objects.get(wallet=wallet, currency_id="ETH")
    api = client_of(client_user)

    before = api.get(balance_url(wallet), {"at": iso(btc.created_at - timedelta(microseconds=1))}).json()
    now = api.get(balance_url(wallet)).json()
    statement_body = api.get(statement_url(wallet), {"currency": "ETH", "from": iso(eth.created_at)}).json()

    assert before["assets"] == [
        {"currency": "BTC", "posted": "0.00000000", "held": "0.00000000", "available": "0.00000000"},
        {"currency": "ETH", "posted": "0." + "0" * 18, "held": "0." + "0" * 18, "available": "0." + "0" * 18},
    ]
    assert now["assets"][1]["posted"] == "12345678901.000000000000000001"
    assert (statement_body["opening_balance"], statement_body["results"][0]["amount"]) == (
        "0." + "0" * 18,
        "12345678901.000000000000000001",
    )


def test_the_compiled_as_of_query_takes_each_calls_wallet_and_instant(funded_wallet, other_wallet):
    deposit(other_wallet, "7")
    first = Entry.objects.get(wallet=funded_wallet)

    mine_then = asset_balance_as_of(wallet=funded_wallet, at=first.created_at - timedelta(microseconds=1))
    theirs_now = asset_balance_as_of(wallet=other_wallet, at=timezone.now())
    mine_now = asset_balance_as_of(wallet=funded_wallet, at=timezone.now())

    assert [(asset.currency, asset.decimals, asset.posted) for asset in mine_then] == [("USD", 2, Decimal(0))]
    assert [(asset.currency, asset.posted) for asset in theirs_now] == [("USD", Decimal(7))]
    assert [(asset.currency, asset.posted) for asset in mine_now] == [("USD", Decimal(100))]


def test_the_compiled_statement_query_takes_each_calls_wallet_currency_and_range(ten_dollars_and_euros, funded_wallet):
    usd = entries_of(ten_dollars_and_euros)
    euros = entries_of(ten_dollars_and_euros, "EUR")

    middle = statement(
        wallet=ten_dollars_and_euros, currency="USD", date_from=usd[2].created_at, date_to=usd[8].created_at
    )
    other = statement(wallet=funded_wallet, currency="USD", date_from=usd[0].created_at, date_to=timezone.now())
    euro_tail = statement(
        wallet=ten_dollars_and_euros, currency="EUR", date_from=euros[7].created_at, date_to=timezone.now()
    )

    assert (middle.currency.code, middle.currency.decimals) == ("USD", 2)
    assert (middle.opening_balance, middle.closing_balance, middle.opening_sequence, middle.closing_sequence) == (
        Decimal(3),
        Decimal(45),
        2,
        9,
    )
    assert (other.opening_balance, other.closing_balance, other.entry_count) == (Decimal(0), Decimal(100), 1)
    assert (euro_tail.currency.code, euro_tail.opening_balance, euro_tail.closing_balance) == ("EUR", 49, 70)
    assert [entry.sequence for entry in euro_tail.entries] == [8, 9, 10]
