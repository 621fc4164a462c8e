"""A compiled query gives what its queryset gives, for each call's own values, on every connection."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext

from transactions.models import Transaction
from walletmanager.compiled_query import CompiledQuery
from walletmanager.testing.ledger import deposit, make_wallet
from wallets.models import Wallet

NIL = uuid.UUID(int=0)
WALLET_OF_OWNER = CompiledQuery(
    lambda wallet_id, owner_id: (
        Wallet.objects.select_related("owner", "balance")
        .prefetch_related("balance__assets")
        .filter(pk=wallet_id, owner_id=owner_id)
    ),
    wallet_id=NIL,
    owner_id=-1,
)
WALLET_IDS_OF_OWNER = CompiledQuery(
    lambda owner_id: Wallet.objects.filter(owner_id=owner_id).order_by("created_at").values_list("pk", flat=True),
    owner_id=-1,
)


@pytest.mark.django_db
def test_rows_are_the_querysets_own_with_related_objects_loaded(client_user, other_client):
    mine, theirs = make_wallet(owner=client_user), make_wallet(owner=other_client)
    deposit(mine, "5")

    (wallet,) = WALLET_OF_OWNER.run(wallet_id=mine.pk, owner_id=client_user.pk)
    with CaptureQueriesContext(connection) as afterwards:
        assert (wallet.pk, wallet.owner.email, wallet.balance.pk) == (mine.pk, client_user.email, mine.balance.pk)
        assert [str(asset.posted) for asset in wallet.balance.assets.all()] == ["5.000000000000000000"]
    assert afterwards.captured_queries == []  # joined and prefetched, as the queryset would
    assert WALLET_OF_OWNER.run(wallet_id=theirs.pk, owner_id=client_user.pk) == []
    assert [row.pk for row in WALLET_OF_OWNER.run(wallet_id=theirs.pk, owner_id=other_client.pk)] == [theirs.pk]

    second = make_wallet(owner=client_user)
    assert WALLET_IDS_OF_OWNER.run(owner_id=client_user.pk) == [mine.pk, second.pk]
    assert WALLET_IDS_OF_OWNER.run(owner_id=other_client.pk) == [theirs.pk]


@pytest.mark.django_db
def test_a_stand_in_that_is_not_a_parameter_is_refused():
    unused = CompiledQuery(lambda owner_id: Wallet.objects.filter(system_role__isnull=True), owner_id=-1)
    with pytest.raises(ImproperlyConfigured, match="owner_id"):
        unused.run(owner_id=1)
    values = CompiledQuery(lambda owner_id: Wallet.objects.filter(owner_id=owner_id).values("pk"), owner_id=-1)
    with pytest.raises(ImproperlyConfigured):
        values.run(owner_id=1)


@pytest.mark.django_db(transaction=True)
def test_each_thread_runs_it_on_its_own_connection(client_user):
    from django.db import connections

    mine = make_wallet(owner=client_user)
    assert [row.pk for row in WALLET_OF_OWNER.run(wallet_id=mine.pk, owner_id=client_user.pk)] == [mine.pk]
    found = []

    def read():
        try:
            found.extend(row.pk for row in WALLET_OF_OWNER.run(wallet_id=mine.pk, owner_id=client_user.pk))
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    assert found == [mine.pk]


def _deposited(*, wallet_id, currency_id):
    return (
        Transaction.objects.filter(wallet_id=wallet_id, currency_id=currency_id, kind="deposit", status="posted")
        .order_by()
        .values("wallet_id")
        .annotate(total=Sum("amount"), count=Count("id"))
        .values_list("total", "count")
    )


DEPOSITED = CompiledQuery(_deposited, wallet_id=NIL, currency_id="\x00")


@pytest.mark.django_db
def test_rows_gives_an_aggregates_tuples_for_each_calls_values():
    first, second = make_wallet(), make_wallet()
    deposit(first, "10")
    deposit(first, "2.50")
    deposit(second, "7")

    assert DEPOSITED.rows(wallet_id=first.pk, currency_id="USD") == [(Decimal("12.5"), 2)]
    assert DEPOSITED.rows(wallet_id=second.pk, currency_id="USD") == [(Decimal("7"), 1)]
    assert DEPOSITED.rows(wallet_id=second.pk, currency_id="EUR") == []
    for wallet in (first, second):
        assert DEPOSITED.rows(wallet_id=wallet.pk, currency_id="USD") == list(
            _deposited(wallet_id=wallet.pk, currency_id="USD")
        )
    with pytest.raises(TypeError, match="currency_id, wallet_id"):
        DEPOSITED.rows(wallet_id=first.pk)
    with pytest.raises(ImproperlyConfigured, match="rows\\(\\) gives tuples"):
        DEPOSITED.run(wallet_id=first.pk, currency_id="USD")
