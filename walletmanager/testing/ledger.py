"""Test helpers that put money where a test needs it, the only way the database allows: through the
ledger's services (entries) and pending withdrawals (holds). Positions are never written directly."""

from __future__ import annotations

from decimal import Decimal


def post_adjustment(wallet, amount, currency: str = "USD"):
    """A posted adjustment by the system: ``amount`` > 0 credits the wallet, < 0 debits it (down to
    its floor; a credit wallet into its credit line)."""
    from balances.models import Currency
    from transactions.services import transaction_adjust

    amount = Decimal(str(amount))
    return transaction_adjust(
        actor=None,
        wallet=wallet,
        currency=Currency.objects.get(code=currency),
        amount=abs(amount),
        direction="credit" if amount > 0 else "debit",
        reason="test set-up",
    )


def place_hold(wallet, amount, currency: str = "USD"):
    """A pending withdrawal of ``amount`` (no fee): PostgreSQL adds it to the asset's ``held``."""
    from transactions.models import Transaction

    return Transaction.objects.create(
        kind="withdrawal",
        status="pending",
        wallet=wallet,
        currency_id=currency,
        amount=Decimal(str(amount)),
        fee=Decimal(0),
    )
