"""A wallet's list (into or out of it) read page by page: the API's ``?wallet=``, a client's own list and
the admin's search by address or owner, each served by ordered index scans merged per page (SPEC §7, §10)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from transactions import deposits, services
from transactions.models import Transaction
from users.tests.factories import StaffFactory
from walletmanager.testing.ledger import PIN, deposit, make_wallet

pytestmark = pytest.mark.django_db

URL = "/api/transactions/"
CHANGELIST = "admin:transactions_transaction_changelist"
ORDERINGS = {
    # the API's ordering option → the order it promises (tiebreak: newest id first)
    "-created_at": lambda tx: (-tx.created_at.timestamp(), _descending(tx.pk)),
    "created_at": lambda tx: (tx.created_at.timestamp(), _descending(tx.pk)),
    "amount": lambda tx: (tx.amount, _descending(tx.pk)),
    "-amount": lambda tx: (-tx.amount, _descending(tx.pk)),
}


def _descending(pk) -> tuple[int, ...]:
    return tuple(-byte for byte in pk.bytes)


def transfer(source, target, amount: str) -> Transaction:
    return services.transaction_transfer(
        actor=source.owner,
        wallet=source,
        to_address=target.address,
        currency=source.balance.currency,
        amount=amount,
        pin=PIN,
    )


@pytest.fixture
def traffic(client_user):
    """A client's two wallets busy in both directions with a stranger's: sent, received, between their
    own two wallets, pending and rejected ones, equal amounts (the tiebreak decides) and noise elsewhere."""
    mine = make_wallet(owner=client_user)
    second = make_wallet(owner=client_user)
    stranger = make_wallet()
    elsewhere = make_wallet()
    deposit(mine, "500")
    deposit(stranger, "500")
    deposit(elsewhere, "50")
    for amount in ("3", "7", "3", "12"):
        transfer(mine, stranger, amount)
        transfer(stranger, mine, amount)
    transfer(mine, second, "5")
    transfer(stranger, elsewhere, "1")
    waiting = deposits.transaction_deposit(
        actor=client_user, wallet=mine, currency=mine.balance.currency, amount=Decimal("3")
    )
    refused = deposits.transaction_deposit(
        actor=client_user, wallet=second, currency=mine.balance.currency, amount=Decimal("9")
    )
    deposits.deposit_reject(actor=None, transaction=refused, reason="test: the money never came")
    assert Transaction.objects.filter(pk=waiting.pk, status="pending").exists()
    return {"mine": mine, "second": second, "stranger": stranger}


def involving(*wallets, **filters) -> list[Transaction]:
    ids = [wallet.pk for wallet in wallets]
    return list(Transaction.objects.filter(Q(wallet_id__in=ids) | Q(to_wallet_id__in=ids), **filters))


def walk(api, params: dict) -> list[str]:
    """Every page of the list, following ``next``; no page may repeat a row."""
    ids: list[str] = []
    response = api.get(URL, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [row["id"] for row in body["results"]]
        if body["next"] is None:
            break
        response = api.get(body["next"])
    assert len(ids) == len(set(ids)), "a row appeared on two pages"
    return ids


def expected(rows: list[Transaction], ordering: str) -> list[str]:
    return [str(tx.pk) for tx in sorted(rows, key=ORDERINGS[ordering])]


@pytest.mark.parametrize("ordering", ORDERINGS)
@pytest.mark.parametrize("page_size", [1, 3, 50])
def test_a_wallets_list_is_complete_ordered_and_paged_in_both_directions(traffic, staff_api, ordering, page_size):
    mine = traffic["mine"]
    for reference in (str(mine.pk), mine.address.lower()):
        params = {"wallet": reference, "ordering": ordering, "page_size": page_size}

        assert walk(staff_api, params) == expected(involving(mine), ordering)
    # Sent and received, the pending and the rejected one are all there.
    kinds = {(tx.wallet_id == mine.pk, tx.status) for tx in involving(mine)}
    assert {(True, "posted"), (False, "posted"), (True, "pending")} <= kinds


@pytest.mark.parametrize("ordering", ["-created_at", "amount"])
def test_filters_keep_their_meaning_on_a_wallets_list(traffic, staff_api, ordering):
    mine, stranger = traffic["mine"], traffic["stranger"]
    cases = [
        ({"kind": "transfer"}, {"kind": "transfer"}),
        ({"status": "pending"}, {"status": "pending"}),
        ({"amount_min": "3", "amount_max": "7"}, {"amount__gte": 3, "amount__lte": 7}),
        ({"currency": "USD", "kind": "deposit"}, {"currency_id": "USD", "kind": "deposit"}),
    ]
    for params, lookups in cases:
        got = walk(staff_api, {"wallet": str(stranger.pk), "ordering": ordering, "page_size": 2, **params})

        assert got == expected(involving(stranger, **lookups), ordering), params
    # created_after (from) and created_before (until) cut the list in two that together are all of it.
    middle = sorted(tx.created_at for tx in involving(mine))[5].isoformat()
    before = walk(staff_api, {"wallet": str(mine.pk), "created_before": middle, "page_size": 2})
    after = walk(staff_api, {"wallet": str(mine.pk), "created_after": middle, "page_size": 2})
    assert len(before) == 5
    assert after + before == expected(involving(mine), "-created_at")


def test_a_clients_own_list_spans_their_wallets_once_and_a_strangers_wallet_narrows_it(traffic, client_user):
    mine, second, stranger = traffic["mine"], traffic["second"], traffic["stranger"]
    api = APIClient()
    api.force_authenticate(client_user)

    own = involving(mine, second)
    assert walk(api, {"page_size": 2}) == expected(own, "-created_at")
    assert walk(api, {"page_size": 4, "ordering": "-amount"}) == expected(own, "-amount")
    # Filtering by a stranger's wallet shows only what passed between it and the client's wallets.
    between = [tx for tx in own if stranger.pk in (tx.wallet_id, tx.to_wallet_id)]
    assert len(between) == 8
    assert walk(api, {"wallet": stranger.address, "page_size": 3}) == expected(between, "-created_at")
    assert walk(api, {"wallet": str(make_wallet().pk)}) == []


def test_the_admins_search_by_address_or_owner_pages_through_both_directions(client, traffic, client_user, monkeypatch):
    from django.contrib import admin

    from walletmanager.testing.two_factor import verified_staff_login

    verified_staff_login(client, StaffFactory(is_superuser=True))
    monkeypatch.setattr(admin.site._registry[Transaction], "list_per_page", 4)
    mine, second = traffic["mine"], traffic["second"]

    def changelist(term, **params) -> list[str]:
        rows: list[str] = []
        page = 1
        while True:
            response = client.get(reverse(CHANGELIST), {"q": term, "p": page, **params})
            assert response.status_code == 200
            rows += [str(tx.pk) for tx in response.context["cl"].result_list]
            if page >= response.context["cl"].paginator.num_pages:
                assert len(rows) == len(set(rows)), "a row appeared on two pages"
                return rows
            page += 1

    assert changelist(mine.address) == expected(involving(mine), "-created_at")
    # The owner's two wallets: the transfer between them is listed once.
    assert changelist(client_user.email) == expected(involving(mine, second), "-created_at")
    # Sorted by the amount column, ascending, and by the wallet's address (a joined column).
    columns = client.get(reverse(CHANGELIST)).context["cl"].list_display
    by_amount = changelist(mine.address, o=str(columns.index("money_amount")))
    assert sorted(by_amount) == sorted(expected(involving(mine), "amount"))
    amounts = [Transaction.objects.get(pk=pk).amount for pk in by_amount]
    assert amounts == sorted(amounts)
    by_wallet = changelist(mine.address, o=str(columns.index("wallet_link")))
    addresses = [Transaction.objects.select_related("wallet").get(pk=pk).wallet.address for pk in by_wallet]
    assert addresses == sorted(addresses) and sorted(by_wallet) == sorted(by_amount)


def test_pages_deep_and_shallow_agree_with_a_plain_read():
    """The merged page equals the plain condition's page, at every offset, for several wallets at once."""
    wallets = [make_wallet() for _ in range(3)]
    for wallet in wallets:
        deposit(wallet, "100")
    for number in range(6):
        transfer(wallets[number % 3], wallets[(number + 1) % 3], str(number + 1))
    ids = [wallets[0].pk, wallets[1].pk]
    merged = Transaction.objects.involving_wallets(ids).order_by("-amount", "-id")
    plain = Transaction.objects.filter(Q(wallet_id__in=ids) | Q(to_wallet_id__in=ids)).order_by("-amount", "-id")
    everything = list(plain)
    assert merged.count() == len(everything) == 8
    for start in range(len(everything) + 1):
        for size in (1, 2, 5):
            assert list(merged[start : start + size]) == everything[start : start + size]


def test_a_wallets_list_costs_the_same_queries_for_any_page_and_size(traffic, staff_api, django_assert_max_num_queries):
    mine = traffic["mine"]
    with CaptureQueriesContext(connection) as first:
        assert staff_api.get(URL, {"wallet": str(mine.pk), "page_size": 1}).status_code == 200
    page_sql = [query["sql"] for query in first.captured_queries if "UNION ALL" in query["sql"]]
    assert len(page_sql) == 1, "the page is one statement merging the ordered scans"
    for _ in range(5):
        deposit(mine, "1")
    everything = expected(involving(mine), "-created_at")
    for params, rows in (
        ({"page_size": 200}, everything),
        ({"page_size": 2, "page": 3}, everything[4:6]),
        ({"ordering": "amount"}, expected(involving(mine), "amount")),
    ):
        with django_assert_max_num_queries(len(first.captured_queries)):
            body = staff_api.get(URL, {"wallet": str(mine.pk), **params}).json()
        assert [row["id"] for row in body["results"]] == rows
