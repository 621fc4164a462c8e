"""Reversals: the opposite entries in a new transaction, at most once, never overdrawing (SPEC §5)."""

from decimal import Decimal

import pytest

from balances.exceptions import InsufficientFunds
from balances.models import Balance
from transactions import services
from transactions.exceptions import AlreadyReversed
from transactions.models import Entry, ExchangeRate, FeeRule, Transaction
from walletmanager.exceptions import InvalidState, PermissionDeniedError, ValidationFailed
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, assert_ledger_consistent, deposit, position, system_position
from wallets.exceptions import WalletClosed
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def test_reversing_a_transfer_restores_both_wallets_and_the_fee(funded_wallet, other_wallet, usd, staff):
    FeeRule.objects.create(kind="transfer", currency=usd, flat=Decimal("1"))
    transfer = services.transaction_transfer(
        actor=funded_wallet.owner,
        wallet=funded_wallet,
        to_address=other_wallet.address,
        currency=usd,
        amount="30",
        pin=PIN,
    )

    reversal = services.transaction_reverse(actor=staff, transaction=transfer, reason="fraud")

    transfer.refresh_from_db()
    assert transfer.status == "reversed"
    assert (reversal.kind, reversal.status, reversal.reverses_id, reversal.reason) == (
        "reversal",
        "posted",
        transfer.pk,
        "fraud",
    )
    assert position(funded_wallet)[0] == Decimal(100)
    assert position(other_wallet)[0] == 0
    assert system_position("fees") == 0
    original = sorted((e.wallet_id, e.amount) for e in transfer.entries.all())
    opposite = sorted((e.wallet_id, -e.amount) for e in reversal.entries.all())
    assert original == opposite
    assert reversal.balance_after.posted == Decimal(100)
    assert (
        AuditEvent.objects.filter(action="transfer.reversed", target_id=str(transfer.pk), reason="fraud").count() == 1
    )
    assert_ledger_consistent()


def test_a_transaction_is_reversed_once_and_a_reversal_never(funded_wallet, staff):
    original = Transaction.objects.get()
    reversal = services.transaction_reverse(actor=staff, transaction=original, reason="duplicate")

    with pytest.raises(AlreadyReversed) as error:
        services.transaction_reverse(actor=staff, transaction=original, reason="again")
    assert error.value.code == "already_reversed"
    with pytest.raises(InvalidState):
        services.transaction_reverse(actor=staff, transaction=reversal, reason="undo the undo")
    assert Transaction.objects.count() == 2


def test_reversal_that_would_overdraw_is_refused(funded_wallet, usd, staff):
    original = Transaction.objects.get()
    services.transaction_withdraw(actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="50", pin=PIN)

    with pytest.raises(InsufficientFunds):
        services.transaction_reverse(actor=staff, transaction=original, reason="chargeback")

    original.refresh_from_db()
    assert original.status == "posted"
    assert position(funded_wallet)[0] == Decimal(50)


def test_reversal_touching_a_closed_wallet_is_refused(funded_wallet, other_wallet, usd, staff):
    transfer = services.transaction_transfer(
        actor=funded_wallet.owner,
        wallet=funded_wallet,
        to_address=other_wallet.address,
        currency=usd,
        amount="1",
        pin=PIN,
    )
    Wallet.objects.filter(pk=other_wallet.pk).update(status="closed")

    with pytest.raises(WalletClosed):
        services.transaction_reverse(actor=staff, transaction=transfer, reason="x")


def test_reversal_ignores_a_freeze_it_is_a_staff_correction(funded_wallet, staff):
    Balance.objects.filter(wallet=funded_wallet).update(status="frozen")

    services.transaction_reverse(actor=staff, transaction=Transaction.objects.get(), reason="fraudulent deposit")

    assert position(funded_wallet) == (0, 0, 0)


def test_reversing_an_exchange(multi_wallet, usd, eur, staff):
    ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.5"))
    deposit(multi_wallet, "10", "USD")
    exchange = services.transaction_exchange(
        actor=multi_wallet.owner, wallet=multi_wallet, from_currency=usd, to_currency=eur, amount="4"
    )

    services.transaction_reverse(actor=staff, transaction=exchange, reason="wrong rate")

    assert position(multi_wallet, "USD")[0] == Decimal(10)
    assert position(multi_wallet, "EUR")[0] == 0
    assert system_position("fx", "EUR") == 0
    assert_ledger_consistent()


def test_only_posted_transactions_reverse_and_only_staff_with_a_reason(funded_wallet, usd, staff):
    from balances.models import Currency

    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("10"))
    usd.refresh_from_db()
    pending = services.transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="10", pin=PIN
    )

    with pytest.raises(InvalidState):
        services.transaction_reverse(actor=staff, transaction=pending, reason="x")
    with pytest.raises(PermissionDeniedError):
        services.transaction_reverse(
            actor=funded_wallet.owner, transaction=Transaction.objects.get(kind="deposit"), reason="x"
        )
    with pytest.raises(ValidationFailed):
        services.transaction_reverse(actor=staff, transaction=Transaction.objects.get(kind="deposit"), reason="")
    assert Entry.objects.count() == 2
