"""The three hot requests of SPEC §10 (a wallet, a wallet's transactions, a transfer) read their
token, wallet and currency through queries compiled once per process (walletmanager.compiled_query):
each answers exactly what the plain ORM reads give, for whoever asks, at a fixed number of queries."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from transactions.models import Transaction
from transactions.serializers import TransactionSerializer
from walletmanager.testing.ledger import PIN, deposit, make_wallet
from wallets.selectors import wallet_list_for
from wallets.serializers import wallet_serializer_for

pytestmark = pytest.mark.django_db


def token_client(user) -> APIClient:
    _, token = AuthToken.objects.create(user, expiry=timedelta(hours=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def plain_wallet_body(user, wallet) -> dict:
    """The wallet as the uncompiled selector reads it and the serializer renders it."""
    return json.loads(json.dumps(wallet_serializer_for(user)(wallet_list_for(user=user).get(pk=wallet.pk)).data))


def test_a_wallet_reads_as_the_plain_orm_does_in_three_queries(client_user, other_client, staff, usd):
    mine = make_wallet(owner=client_user, balance_kind="multi", currency=None)
    deposit(mine, "12.5", "USD")
    deposit(mine, "3", "EUR")
    theirs = make_wallet(owner=other_client)
    deposit(theirs, "7")
    me, them, operator = token_client(client_user), token_client(other_client), token_client(staff)

    with CaptureQueriesContext(connection) as captured:
        response = me.get(f"/api/wallets/{mine.pk}/")
    assert response.status_code == 200
    assert response.json() == plain_wallet_body(client_user, mine)
    assert [asset["currency"] for asset in response.json()["balance"]["assets"]] == ["EUR", "USD"]
    # The token with its user; the wallet with its balance; the assets with their currencies.
    assert len(captured.captured_queries) == 3

    # Each request's own values, one after the other on the same compiled queries.
    assert them.get(f"/api/wallets/{theirs.pk}/").json() == plain_wallet_body(other_client, theirs)
    assert them.get(f"/api/wallets/{mine.pk}/").status_code == 404
    assert me.get(f"/api/wallets/{theirs.pk}/").status_code == 404
    assert operator.get(f"/api/wallets/{theirs.pk}/").json() == plain_wallet_body(staff, theirs)
    assert me.get(f"/api/wallets/{mine.pk}/").json() == plain_wallet_body(client_user, mine)


def test_a_wallets_transactions_read_as_the_plain_orm_does_at_a_fixed_query_count(
    client_user, other_client, funded_wallet, usd
):
    theirs = make_wallet(owner=other_client)
    deposit(theirs, "50")
    me, them = token_client(client_user), token_client(other_client)
    transfer = {
        "kind": "transfer",
        "wallet": str(funded_wallet.pk),
        "to_address": theirs.address,
        "currency": "USD",
        "amount": "2",
        "pin": PIN,
    }
    assert me.post("/api/transactions/", transfer, format="json").status_code == 201

    def plain_page(wallet) -> list:
        rows = (
            Transaction.objects.filter(Q(wallet=wallet) | Q(to_wallet=wallet))
            .select_related("currency", "to_currency")
            .order_by("-created_at", "-id")[:50]
        )
        return json.loads(json.dumps(TransactionSerializer(rows, many=True).data))

    url = f"/api/transactions/?wallet={funded_wallet.pk}&page_size=50"
    with CaptureQueriesContext(connection) as few:
        page = me.get(url).json()["results"]
    assert page == plain_page(funded_wallet) and len(page) == 2
    # By address, in any case, the same page.
    assert me.get(f"/api/transactions/?wallet={funded_wallet.address.lower()}").json()["results"] == page
    # Another client filtering by my wallet sees only what passed between us.
    shared = them.get(url).json()["results"]
    assert [row["kind"] for row in shared] == ["transfer"] and shared == page[:1]

    for _ in range(12):
        deposit(funded_wallet, "1")
    with CaptureQueriesContext(connection) as many:
        page = me.get(url).json()["results"]
    assert page == plain_page(funded_wallet) and len(page) == 14
    assert len(many.captured_queries) == len(few.captured_queries) == 4


def test_a_transfer_costs_the_same_queries_the_first_and_the_tenth_time(client_user, funded_wallet, other_wallet):
    me = token_client(client_user)
    body = {
        "kind": "transfer",
        "wallet": str(funded_wallet.pk),
        "to_address": other_wallet.address,
        "currency": "usd",  # codes in any case, as before
        "amount": "1",
        "pin": PIN,
    }
    counts = []
    for _ in range(10):
        with CaptureQueriesContext(connection) as captured:
            response = me.post("/api/transactions/", body, format="json")
        assert response.status_code == 201, response.json()
        counts.append(len(captured.captured_queries))
    assert response.json()["balance_after"]["available"] == "90.00"
    assert len(set(counts)) == 1

    unknown = me.post("/api/transactions/", {**body, "currency": "xyz"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["fields"] == {
        "currency": [{"code": "does_not_exist", "detail": "Object with code=XYZ does not exist."}]
    }
    elsewhere = me.post("/api/transactions/", {**body, "wallet": str(other_wallet.pk)}, format="json")
    assert elsewhere.status_code == 404


def test_each_list_request_validates_its_own_filters(client_user, funded_wallet, other_wallet):
    """The filters' form class is made once per process; each request still gets its own form."""
    me = token_client(client_user)
    transfer = {
        "kind": "transfer",
        "wallet": str(funded_wallet.pk),
        "to_address": other_wallet.address,
        "currency": "USD",
        "amount": "1",
        "pin": PIN,
    }
    assert me.post("/api/transactions/", transfer, format="json").status_code == 201

    first = me.get("/api/transactions/?created_after=yesterday")
    assert first.status_code == 400 and set(first.json()["fields"]) == {"created_after"}
    kinds = [row["kind"] for row in me.get("/api/transactions/?kind=transfer").json()["results"]]
    assert kinds == ["transfer"]
    second = me.get("/api/transactions/?amount_min=lots&kind=nothing")
    assert second.status_code == 400 and set(second.json()["fields"]) == {"amount_min", "kind"}
    ordered = me.get("/api/transactions/?ordering=amount").json()["results"]
    assert [row["amount"] for row in ordered] == ["1.00", "100.00"]
