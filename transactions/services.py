"""Every money movement (SPEC §5). A service decides who may (ownership, PIN, permissions, four eyes)
and what it costs (fees, rates, rounding), then makes ONE call of the ledger's database functions
(``transactions.ledger``, SPEC §16), which lock, check, write the transaction, its entries, audit
event and outbox row in one statement. The domain signal is sent afterwards for other receivers."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from balances.models import Currency
from transactions import ledger, signals
from transactions.exceptions import AlreadyReversed, AmountTooSmall
from transactions.models import Transaction
from transactions.pricing import fee_for, rate_for
from walletmanager.actors import clean_reason, refuse_own, require_permission
from walletmanager.exceptions import InvalidState, NotFoundError, ValidationFailed
from walletmanager.money import (
    MAX_AMOUNT,
    InvalidAmount,
    round_down,
    to_decimal,
    validate_amount,
)
from wallets.models import Wallet

ADJUST_PERMISSION = "transactions.adjust_balance"
APPROVE_PERMISSION = "transactions.approve_withdrawal"
REVERSE_PERMISSION = "transactions.reverse_transaction"


# --- input ---------------------------------------------------------------------------------------


def _clean_amount(amount: Any, *, currency: Currency, field: str = "amount") -> Decimal:
    """An input amount exactly as SPEC §2 defines it; a 400 naming ``field`` otherwise, never rounded."""
    try:
        return validate_amount(to_decimal(amount), decimals=currency.decimals)
    except InvalidAmount as error:
        raise ValidationFailed(str(error), field=field) from None


def _clean_description(description: str | None) -> str:
    description = (description or "").strip()
    if len(description) > 255:
        raise ValidationFailed("At most 255 characters.", field="description")
    return description


def _require_owner(actor: Any, wallet: Wallet) -> None:
    # Someone else's wallet does not exist as far as the actor is concerned (404, never 403).
    if actor is None or wallet.owner_id != getattr(actor, "pk", None):
        raise NotFoundError("No such wallet.")


# --- actors ----------------------------------------------------------------------------------------


def _actor_id(actor: Any) -> int | None:
    return actor.pk if getattr(actor, "is_authenticated", False) else None


# Velocity (SPEC §12) is the ledger's: ``ledger.move`` counts what left a wallet in the last 24 hours
# from per-quarter-hour buckets kept by a trigger (``sql/0014_ledger_move.sql``).


# --- movements -----------------------------------------------------------------------------------


def _verify_pin(wallet: Wallet, pin: Any) -> None:
    from wallets.services import wallet_verify_pin

    wallet_verify_pin(wallet=wallet, pin=pin if isinstance(pin, str) else None)


def _announce(moved: ledger.Moved, *, actor: Any, reason: str = "") -> Transaction:
    """Tell the domain signal's receivers what ``ledger.move`` wrote (its audit event and outbox row
    are written by the function itself); a replayed request announces nothing again."""
    transaction = moved.transaction
    if not moved.replayed:
        signal = (
            signals.transaction_pending
            if transaction.status == Transaction.Status.PENDING
            else signals.transaction_posted
        )
        signal.send(sender=Transaction, instance=transaction, actor=actor, reason=reason, data=None)
    return transaction


def transaction_withdraw(
    *,
    actor: Any,
    wallet: Wallet,
    currency: Currency,
    amount: Any,
    pin: str,
    description: str = "",
    request_id: uuid.UUID | None = None,
) -> Transaction:
    """Money to the outside world (PIN): ``amount + fee`` leaves the wallet. When it, or the wallet's
    withdrawals in the currency over the last 24 hours with it, reach the currency's approval threshold
    it is only held (``pending``) until staff approve or it is resolved otherwise."""
    amount = _clean_amount(amount, currency=currency)
    description = _clean_description(description)
    _require_owner(actor, wallet)
    _verify_pin(wallet, pin)
    with ledger.money_context():
        fee = fee_for(kind=Transaction.Kind.WITHDRAWAL, currency=currency, amount=amount)
        moved = ledger.move(
            request_id=request_id,
            kind=Transaction.Kind.WITHDRAWAL,
            actor_id=_actor_id(actor),
            wallet=wallet,
            currency=currency,
            amount=amount,
            fee=fee,
            description=description,
        )
    return _announce(moved, actor=actor)


def transaction_transfer(
    *,
    actor: Any,
    wallet: Wallet,
    to_address: str,
    currency: Currency,
    amount: Any,
    pin: str,
    description: str = "",
    request_id: uuid.UUID | None = None,
) -> Transaction:
    """To another client wallet by its address (PIN), same currency: the sender pays ``amount + fee``,
    the receiver gets ``amount``. An unknown address is 404; a recipient that cannot receive, 409."""
    amount = _clean_amount(amount, currency=currency)
    description = _clean_description(description)
    _require_owner(actor, wallet)
    address = str(to_address or "").strip().upper()
    if not 0 < len(address) <= 64:
        raise NotFoundError("No wallet has this address.")
    if address == wallet.address:
        raise ValidationFailed("A wallet cannot transfer to itself.", field="to_address")
    _verify_pin(wallet, pin)
    with ledger.money_context():
        fee = fee_for(kind=Transaction.Kind.TRANSFER, currency=currency, amount=amount)
        moved = ledger.move(
            request_id=request_id,
            kind=Transaction.Kind.TRANSFER,
            actor_id=_actor_id(actor),
            wallet=wallet,
            currency=currency,
            amount=amount,
            fee=fee,
            to_address=address,
            description=description,
        )
    return _announce(moved, actor=actor)


def transaction_exchange(
    *,
    actor: Any,
    wallet: Wallet,
    from_currency: Currency,
    to_currency: Currency,
    amount: Any,
    to_wallet: Wallet | None = None,
    request_id: uuid.UUID | None = None,
) -> Transaction:
    """``amount`` of ``from_currency`` out of ``wallet``; ROUND_DOWN((amount − fee) × rate) of
    ``to_currency`` into ``to_wallet`` (default the same wallet, always the same owner's), through fx."""
    amount = _clean_amount(amount, currency=from_currency)
    if from_currency.code == to_currency.code:
        raise ValidationFailed("Choose two different currencies.", field="to_currency")
    _require_owner(actor, wallet)
    if to_wallet is not None and (to_wallet.owner_id != wallet.owner_id or to_wallet.is_system):
        raise ValidationFailed("The target wallet must be one of your own.", field="to_wallet")
    with ledger.money_context():
        fee = fee_for(kind=Transaction.Kind.EXCHANGE, currency=from_currency, amount=amount)
        if fee >= amount:
            raise AmountTooSmall(f"The amount must exceed the fee of {fee} {from_currency.code}.", field="amount")
        rate = rate_for(base=from_currency, quote=to_currency)
        to_amount = round_down((amount - fee) * rate, decimals=to_currency.decimals)
        if to_amount <= 0:
            raise AmountTooSmall("The amount is too small to buy anything at this rate.", field="amount")
        if to_amount > MAX_AMOUNT:
            raise ValidationFailed(f"The result would exceed {MAX_AMOUNT} {to_currency.code}.", field="amount")
        moved = ledger.move(
            request_id=request_id,
            kind=Transaction.Kind.EXCHANGE,
            actor_id=_actor_id(actor),
            wallet=wallet,
            currency=from_currency,
            amount=amount,
            fee=fee,
            to_wallet_id=to_wallet.pk if to_wallet is not None else wallet.pk,
            to_currency=to_currency,
            to_amount=to_amount,
            rate=rate,
        )
    return _announce(moved, actor=actor)


ADJUSTMENT_DIRECTIONS = ("credit", "debit")


def transaction_adjust(
    *,
    actor: Any,
    wallet: Wallet,
    currency: Currency,
    amount: Any,
    direction: str,
    reason: str,
    request_id: uuid.UUID | None = None,
) -> Transaction:
    """A correction: credit or debit a client wallet against ``external``, with a reason. Operators
    never call this alone: it runs when a second operator approves an ``adjust`` request (SPEC §12)."""
    require_permission(actor, ADJUST_PERMISSION)
    refuse_own(actor, {wallet.owner_id})
    amount = _clean_amount(amount, currency=currency)
    if direction not in ADJUSTMENT_DIRECTIONS:
        raise ValidationFailed('Choose "credit" or "debit".', field="direction")
    reason = clean_reason(reason, required=True)
    moved = ledger.move(
        request_id=request_id,
        kind=Transaction.Kind.ADJUSTMENT,
        actor_id=_actor_id(actor),
        wallet=wallet,
        currency=currency,
        amount=amount,
        description=f"Adjustment ({direction})",
        reason=reason,
        direction=direction,
    )
    return _announce(moved, actor=actor, reason=reason)


# --- pending withdrawals -------------------------------------------------------------------------
# Each resolution is one call of ``ledger.resolve``: the row locked first, so exactly one of
# concurrent approve / reject / cancel / expire resolves it; a second gets 409 ``invalid_state``.


def _resolve_withdrawal(
    transaction: Transaction, *, actor: Any, outcome: str, reason: str = "", **options
) -> Transaction:
    moved = ledger.resolve(
        transaction_id=transaction.pk,
        kind=Transaction.Kind.WITHDRAWAL,
        outcome=outcome,
        actor_id=_actor_id(actor),
        reason=reason,
        currency=getattr(transaction, "currency", None) if _cached(transaction, "currency") else None,
        **options,
    )
    resolved = moved.transaction
    signal = {
        Transaction.Status.POSTED: signals.transaction_posted,
        Transaction.Status.REJECTED: signals.transaction_rejected,
        Transaction.Status.CANCELLED: signals.transaction_cancelled,
        Transaction.Status.EXPIRED: signals.transaction_expired,
    }[resolved.status]
    if not moved.replayed:
        signal.send(sender=Transaction, instance=resolved, actor=actor, reason=reason, data=None)
    return resolved


def _cached(row, name: str) -> bool:
    return row._meta.get_field(name).is_cached(row)


def transaction_approve(*, actor: Any, transaction: Transaction, reason: str = "") -> Transaction:
    """Staff approve a pending withdrawal: the hold becomes the posted debit (a 409 if it was already
    resolved, or if the wallet may no longer send money). Never from a wallet they own."""
    require_permission(actor, APPROVE_PERMISSION)
    reason = clean_reason(reason, required=False)
    return _resolve_withdrawal(transaction, actor=actor, outcome="post", reason=reason, operator_checks=True)


def transaction_reject(*, actor: Any, transaction: Transaction, reason: str) -> Transaction:
    """Staff refuse a pending withdrawal (reason required): the hold is released."""
    require_permission(actor, APPROVE_PERMISSION)
    reason = clean_reason(reason, required=True)
    return _resolve_withdrawal(transaction, actor=actor, outcome="reject", reason=reason, operator_checks=True)


def transaction_cancel(*, actor: Any, transaction: Transaction) -> Transaction:
    """The owner takes back a pending withdrawal: the hold is released. Someone else's is not found."""
    if _actor_id(actor) is None:
        raise NotFoundError("No such transaction.")
    return _resolve_withdrawal(transaction, actor=actor, outcome="cancel", owner_id=actor.pk)


def expire_pending(*, kind: str, older_than: datetime, resolve) -> int:
    """Resolve every pending transaction of ``kind`` created before ``older_than`` with
    ``resolve(transaction)``, each on its own; one resolved by someone else meanwhile is skipped.
    Returns how many were resolved."""
    candidates = Transaction.objects.filter(kind=kind, status=Transaction.Status.PENDING, created_at__lt=older_than)
    resolved = 0
    for transaction in list(candidates.select_related("currency").iterator(chunk_size=500)):
        try:
            resolve(transaction)
        except InvalidState:
            continue  # resolved meanwhile by an operator, the owner or the provider
        resolved += 1
    return resolved


def transaction_expire_holds(*, now: datetime | None = None) -> int:
    """Expire every pending withdrawal older than ``HOLD_TTL`` and release its hold; returns how many."""
    now = now or timezone.now()
    return expire_pending(
        kind=Transaction.Kind.WITHDRAWAL,
        older_than=now - settings.HOLD_TTL,
        resolve=lambda pending: _resolve_withdrawal(
            pending,
            actor=None,
            outcome="expire",
            reason=f"Pending for more than {settings.HOLD_TTL}.",
            resolved_at=now,
        ),
    )


# --- reversal ------------------------------------------------------------------------------------


def check_reversible(original: Transaction) -> None:
    """A posted transaction that is not itself a reversal, reversed at most once."""
    if original.kind == Transaction.Kind.REVERSAL:
        raise InvalidState("A reversal cannot be reversed.")
    if original.status == Transaction.Status.REVERSED:
        raise AlreadyReversed()
    if original.status != Transaction.Status.POSTED:
        raise InvalidState(f"Only a posted transaction can be reversed; this one is {original.status}.")


def transaction_reverse(*, actor: Any, transaction: Transaction, reason: str) -> Transaction:
    """Staff undo a posted transaction with a new one carrying the opposite entries; the original
    becomes ``reversed``. Refused when it would overdraw a wallet or touches a closed one; a
    reversal is never reversed. Blocked wallets and frozen balances do not stop it: it is the
    operators' correction, typically of the very movement that made them block the wallet. Operators
    never call this alone: it runs when a second operator approves a ``reverse`` request (SPEC §12).
    One call of ``ledger.reverse``, which also writes both audit events and both outbox rows."""
    require_permission(actor, REVERSE_PERMISSION)
    reason = clean_reason(reason, required=True)
    moved = ledger.reverse(transaction_id=transaction.pk, actor_id=_actor_id(actor), reason=reason)
    reversal = moved.transaction
    signals.transaction_posted.send(sender=Transaction, instance=reversal, actor=actor, reason=reason, data=None)
    transaction.status = Transaction.Status.REVERSED  # as ledger.reverse left it
    signals.transaction_reversed.send(
        sender=Transaction,
        instance=transaction,
        actor=actor,
        reason=reason,
        data={"before": {"status": "posted"}, "after": {"status": "reversed"}, "reversal": str(reversal.pk)},
    )
    return reversal
