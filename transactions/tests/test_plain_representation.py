"""The transaction serializers render by hand (a plain ``to_representation``, issue 14): their output
must be exactly what DRF's own field machinery makes of the declared fields, which the OpenAPI schema
describes. Every kind and status is rendered both ways and compared as JSON text (keys in order)."""

import json
from decimal import Decimal

import pytest
from rest_framework import serializers

from balances.models import Currency
from transactions import deposits, selectors, services
from transactions.models import ExchangeRate, Transaction
from transactions.serializers import (
    EntrySerializer,
    StaffTransactionSerializer,
    TransactionDetailSerializer,
    TransactionSerializer,
)
from walletmanager.testing.ledger import PIN, deposit, make_wallet, post_adjustment

pytestmark = pytest.mark.django_db

SERIALIZERS = [TransactionSerializer, StaffTransactionSerializer, TransactionDetailSerializer]


def by_drf(serializer, instance) -> str:
    """What DRF's ``Serializer.to_representation`` (the parent of the plain one) renders."""
    return json.dumps(serializers.Serializer.to_representation(serializer, instance))


def plain(serializer, instance) -> str:
    return json.dumps(serializer.to_representation(instance))


@pytest.fixture
def every_kind_and_status(client_user, staff):
    """Transactions of every kind and status, as the services return them (``balance_after`` set)."""
    usd = Currency.objects.get(code="USD")
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("50"))
    usd.refresh_from_db()
    wallet = make_wallet(owner=client_user)
    other = make_wallet()
    pending_deposit = deposits.transaction_deposit(
        actor=client_user, wallet=wallet, currency=usd, amount=Decimal("500")
    )
    posted_deposit = deposits.deposit_confirm(
        actor=None, transaction=pending_deposit, reason="arrived", received_amount=Decimal("400.5")
    )
    # Under the approval threshold (a rolling day's total) first: posted; then two held for approval.
    made = [
        deposits.transaction_deposit(actor=client_user, wallet=wallet, currency=usd, amount=Decimal("7.25")),
        posted_deposit,
        services.transaction_withdraw(actor=client_user, wallet=wallet, currency=usd, amount="5.5", pin=PIN),
        services.transaction_withdraw(actor=client_user, wallet=wallet, currency=usd, amount="60", pin=PIN),
    ]
    to_reject = services.transaction_withdraw(actor=client_user, wallet=wallet, currency=usd, amount="70", pin=PIN)
    made.append(services.transaction_reject(actor=staff, transaction=to_reject, reason="not today"))
    transfer = services.transaction_transfer(
        actor=client_user, wallet=wallet, to_address=other.address, currency=usd, amount="3.1", pin=PIN
    )
    made.append(transfer)
    made.append(post_adjustment(wallet, "2.5"))
    made.append(services.transaction_reverse(actor=staff, transaction=transfer, reason="sent by mistake"))

    multi = make_wallet(owner=client_user, balance_kind="multi", currency=None)
    deposit(multi, "100")
    ExchangeRate.objects.create(base_id="USD", quote_id="BTC", rate=Decimal("0.0000333"))
    made.append(
        services.transaction_exchange(
            actor=client_user,
            wallet=multi,
            from_currency=usd,
            to_currency=Currency.objects.get(code="BTC"),
            amount="50",
        )
    )
    return made


def test_the_plain_transaction_is_what_drf_renders_for_every_kind_and_status(every_kind_and_status, staff):
    read_back = [
        selectors.transaction_get_for(user=staff, transaction_id=made.pk, with_entries=True)
        for made in every_kind_and_status
    ]
    rendered = []
    for transaction in [*every_kind_and_status, *read_back]:
        for serializer_class in SERIALIZERS:
            serializer = serializer_class()
            assert plain(serializer, transaction) == by_drf(serializer, transaction)
            rendered.append(serializer.to_representation(transaction))
        for entry in transaction.entries.all():
            assert plain(EntrySerializer(), entry) == by_drf(EntrySerializer(), entry)

    # The cases really exercise every field that may be null and every kind and status.
    assert {(t.kind, t.status) for t in read_back} >= {
        ("deposit", "pending"),
        ("deposit", "posted"),
        ("withdrawal", "pending"),
        ("withdrawal", "posted"),
        ("withdrawal", "rejected"),
        ("transfer", "reversed"),
        ("adjustment", "posted"),
        ("reversal", "posted"),
        ("exchange", "posted"),
    }
    for name in ["to_wallet", "to_currency", "to_amount", "rate", "reverses", "reference", "received_amount"]:
        assert {body[name] is None for body in rendered} == {True, False}, name
    for name in ["posted_at", "resolved_at", "balance_after", "provider_id"]:
        assert any(body.get(name, "") is None for body in rendered), name
    assert any(body["balance_after"] for body in rendered) and any(body["resolved_at"] for body in rendered)
    assert any(entry["system_role"] for body in rendered for entry in body.get("entries", []))
    assert list(rendered[-1]) == TransactionDetailSerializer.Meta.fields


def test_a_deposit_settled_by_the_provider_shows_its_payment_id(client_user):
    usd = Currency.objects.get(code="USD")
    wallet = make_wallet(owner=client_user)
    pending = deposits.transaction_deposit(actor=client_user, wallet=wallet, currency=usd, amount=Decimal("10"))
    transaction = Transaction.objects.select_related("currency", "to_currency").get(pk=pending.pk)
    transaction.provider_id = "pay_123"  # as the provider's callback records it

    serializer = StaffTransactionSerializer()
    assert plain(serializer, transaction) == by_drf(serializer, transaction)
    assert serializer.to_representation(transaction)["provider_id"] == "pay_123"
