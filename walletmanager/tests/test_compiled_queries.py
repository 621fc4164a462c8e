"""A compiled query gives the same rows as the ORM query it was compiled from, with each call's values."""

import uuid
from decimal import Decimal

import pytest
from django.db.models import Sum

from transactions.models import Transaction
from walletmanager.compiled_queries import CompiledQuery
from walletmanager.testing.ledger import deposit, make_wallet

pytestmark = pytest.mark.django_db


def _deposited(*, wallet_id, currency_id):
    return (
        Transaction.objects.filter(wallet_id=wallet_id, currency_id=currency_id, kind="deposit", status="posted")
        .order_by()
        .values("wallet_id")
        .annotate(total=Sum("amount"))
        .values_list("total", flat=True)
    )


DEPOSITED = CompiledQuery(_deposited, wallet_id=uuid.UUID(int=0), currency_id="\x00")


def test_each_call_runs_the_orm_query_with_its_own_values():
    first, second = make_wallet(), make_wallet()
    deposit(first, "10")
    deposit(first, "2.50")
    deposit(second, "7")

    assert DEPOSITED.rows(wallet_id=first.pk, currency_id="USD") == [(Decimal("12.5"),)]
    assert DEPOSITED.rows(wallet_id=second.pk, currency_id="USD") == [(Decimal("7"),)]
    assert DEPOSITED.rows(wallet_id=second.pk, currency_id="EUR") == []
    for wallet in (first, second):
        assert [row[0] for row in DEPOSITED.rows(wallet_id=wallet.pk, currency_id="USD")] == list(
            _deposited(wallet_id=wallet.pk, currency_id="USD")
        )


def test_every_value_must_be_given_and_every_stand_in_used():
    with pytest.raises(TypeError, match="currency_id, wallet_id"):
        DEPOSITED.rows(wallet_id=uuid.uuid4())
    unused = CompiledQuery(
        lambda *, wallet_id, at: _deposited(wallet_id=wallet_id, currency_id="USD"),
        wallet_id=uuid.UUID(int=0),
        at=12345,
    )
    with pytest.raises(ValueError, match="stand-in for at"):
        unused.rows(wallet_id=uuid.uuid4(), at=1)
