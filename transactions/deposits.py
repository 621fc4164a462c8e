"""Money comes in only when a trusted source says it arrived (SPEC §12).

A deposit is a *request*: ``pending`` with a ``reference`` the client quotes on the incoming payment;
nothing is posted or available. It resolves exactly once: the payment provider's signed callback
(``deposit_settle``), a Finance operator's confirmation or rejection, or expiry after ``DEPOSIT_TTL``.
What posts is the amount actually received, with the fee computed on it."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection
from django.db import transaction as db_transaction
from django.utils import timezone

from balances.models import Currency
from transactions import ledger, signals
from transactions.exceptions import AmountTooSmall
from transactions.models import Transaction
from transactions.pricing import fee_for
from transactions.services import (
    _actor_id,
    _announce,
    _clean_amount,
    _clean_description,
    _require_owner,
    expire_pending,
)
from walletmanager.actors import acts_as_staff, clean_reason, refuse_own, require_permission
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.services import approval_request
from walletmanager.exceptions import InvalidState, NotFoundError, SameOperator, ValidationFailed
from wallets.models import Wallet

CONFIRM_PERMISSION = "transactions.confirm_deposit"
# The approval request a confirmation with another amount than the one asked for becomes (approval_actions).
CONFIRM_RECEIVED_ACTION = "confirm_deposit_received"
# Crockford's base32 without I, L, O, U: no letter a client could mistype for a digit.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# PostgreSQL's name for the uniqueness of ``reference`` (``unique=True``, migration 0009).
REFERENCE_CONSTRAINT = "transactions_transaction_reference_key"


def new_reference() -> str:
    """``WM-XXXX-XXXX-XX``: 50 random bits, grouped so a person can read it out and type it."""
    characters = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))
    return f"WM-{characters[:4]}-{characters[4:8]}-{characters[8:]}"


def transaction_deposit(
    *,
    actor: Any,
    wallet: Wallet,
    currency: Currency,
    amount: Any,
    description: str = "",
    request_id: uuid.UUID | None = None,
) -> Transaction:
    """Ask to pay ``amount`` into a wallet: a ``pending`` deposit with a unique ``reference`` to quote
    on the payment. Nothing is posted until the money arrives. The owner asks for their own wallet;
    Finance (``confirm_deposit``) may record one for a client (another operator then confirms it)."""
    amount = _clean_amount(amount, currency=currency)
    description = _clean_description(description)
    if acts_as_staff(actor) and (actor is None or wallet.owner_id != actor.pk):
        require_permission(actor, CONFIRM_PERMISSION, detail="Only Finance may record a deposit for a client.")
    else:
        _require_owner(actor, wallet)
    for _ in range(5):
        try:
            # A savepoint only inside an outer transaction (an idempotent request): there a refused
            # reference must not end the caller's transaction; on its own the statement is atomic.
            with db_transaction.atomic() if connection.in_atomic_block else nullcontext():
                moved = ledger.move(
                    request_id=request_id,
                    kind=Transaction.Kind.DEPOSIT,
                    actor_id=_actor_id(actor),
                    wallet=wallet,
                    currency=currency,
                    amount=amount,
                    description=description,
                    reference=new_reference(),
                )
            return _announce(moved, actor=actor)
        except IntegrityError as error:
            # A reference drawn twice in 2^50: the whole request again, with a new one.
            if _violated_constraint(error) != REFERENCE_CONSTRAINT:
                raise
    raise InvalidState("Could not draw a unique deposit reference; try again.")


def _violated_constraint(error: IntegrityError) -> str | None:
    diagnostics = getattr(error.__cause__, "diag", None)
    return getattr(diagnostics, "constraint_name", None)


def _lock_pending_deposit(transaction: Transaction | Any) -> tuple[Transaction, None]:
    """The pending deposit with its currency, read to price its settlement (its fee on what arrived).
    The row itself is locked by ``ledger.resolve``, which re-checks that it is still pending: exactly
    one of concurrent confirmations, rejections, settlements and expiries resolves it."""
    pk = getattr(transaction, "pk", transaction)
    try:
        locked = Transaction.objects.select_related("currency", "wallet").get(pk=pk)
    except Transaction.DoesNotExist:
        raise NotFoundError("No such transaction.") from None
    if locked.kind != Transaction.Kind.DEPOSIT or locked.status != Transaction.Status.PENDING:
        raise InvalidState(
            f"Only a pending deposit can be confirmed or rejected; this is a {locked.status} {locked.kind}."
        )
    return locked, None


_SIGNALS = {
    Transaction.Status.POSTED: signals.transaction_posted,
    Transaction.Status.REJECTED: signals.transaction_rejected,
    Transaction.Status.EXPIRED: signals.transaction_expired,
}


def _resolved(moved, *, actor: Any, reason: str) -> Transaction:
    resolved = moved.transaction
    if not moved.replayed:
        _SIGNALS[resolved.status].send(sender=Transaction, instance=resolved, actor=actor, reason=reason, data=None)
    return resolved


def _post(
    locked: Transaction,
    wallets: Any = None,
    *,
    actor: Any,
    received: Decimal,
    reason: str,
    provider_id: str | None = None,
    operator_checks: bool = True,
) -> Transaction:
    """Post a pending deposit with the amount received: the wallet gets ``received − fee`` (one call of
    ``ledger.resolve``; ``wallets`` is no longer needed and kept for callers that pass it)."""
    fee = fee_for(kind=Transaction.Kind.DEPOSIT, currency=locked.currency, amount=received)
    if fee >= received:
        raise AmountTooSmall(f"The amount received must exceed the fee of {fee} {locked.currency_id}.", field="amount")
    moved = ledger.resolve(
        transaction_id=locked.pk,
        kind=Transaction.Kind.DEPOSIT,
        outcome="post",
        actor_id=_actor_id(actor),
        reason=reason,
        fee=fee,
        received_amount=received,
        provider_id=provider_id,
        operator_checks=operator_checks,
        currency=locked.currency,
    )
    return _resolved(moved, actor=actor, reason=reason)


def _refuse(
    locked: Transaction,
    *,
    actor: Any,
    status: str,
    signal=None,
    reason: str,
    provider_id: str | None = None,
    operator_checks: bool = True,
    resolved_at: datetime | None = None,
) -> Transaction:
    """Reject or expire a pending deposit (``status``), with its reason: nothing moves."""
    outcome = {Transaction.Status.REJECTED: "reject", Transaction.Status.EXPIRED: "expire"}[status]
    moved = ledger.resolve(
        transaction_id=locked.pk,
        kind=Transaction.Kind.DEPOSIT,
        outcome=outcome,
        actor_id=_actor_id(actor),
        reason=reason,
        provider_id=provider_id,
        operator_checks=operator_checks,
        resolved_at=resolved_at,
        currency=locked.currency if locked._meta.get_field("currency").is_cached(locked) else None,
    )
    return _resolved(moved, actor=actor, reason=reason)


def _check_operator(actor: Any, locked: Transaction) -> None:
    """Finance only; never their own wallet nor a deposit they recorded (``ledger.resolve`` checks both
    again under the row's lock; here they refuse before an approval request is made of it)."""
    require_permission(actor, CONFIRM_PERMISSION)
    refuse_own(actor, {locked.wallet.owner_id})
    if actor is not None and locked.created_by_id == actor.pk:
        raise SameOperator("You recorded this deposit: another operator must confirm or reject it.")


def deposit_confirm(
    *, actor: Any, transaction: Transaction, reason: str, received_amount: Any = None
) -> Transaction | ApprovalRequest:
    """Finance confirms that the money arrived (reason required: where they saw it), and the amount
    asked for posts. A ``received_amount`` other than the amount asked for posts nothing: it becomes
    an approval request (``confirm_deposit_received``) that a second Finance operator decides, as an
    adjustment (SPEC §12) — one operator alone cannot say that more, or less, money arrived. The system
    (``actor`` None) posts the amount received at once, as the signed provider callback does."""
    reason = clean_reason(reason, required=True)
    with ledger.money_context():
        locked, wallets = _lock_pending_deposit(transaction)
        _check_operator(actor, locked)
        received = (
            locked.amount
            if received_amount in (None, "")
            else _clean_amount(received_amount, currency=locked.currency, field="received_amount")
        )
        # ``actor`` None is the system (code an ops engineer runs), trusted like the provider's callback.
        if received != locked.amount and actor is not None:
            return approval_request(
                actor=actor,
                action=CONFIRM_RECEIVED_ACTION,
                reason=reason,
                transaction=locked,
                received_amount=received,
            )
        return _post(locked, wallets, actor=actor, received=received, reason=reason)


def deposit_confirm_received(
    *, actor: Any, transaction: Transaction | Any, received_amount: Any, reason: str
) -> Transaction:
    """Post a pending deposit with an amount received other than the one asked for: what a second
    Finance operator's approval of a ``confirm_deposit_received`` request runs. The checker needs
    ``confirm_deposit``, did not record the deposit and does not own the wallet (the approvals
    mechanism also refuses the maker); the deposit must still be pending."""
    reason = clean_reason(reason, required=True)
    with ledger.money_context(), db_transaction.atomic():
        locked, wallets = _lock_pending_deposit(transaction)
        _check_operator(actor, locked)
        received = _clean_amount(received_amount, currency=locked.currency, field="received_amount")
        return _post(locked, wallets, actor=actor, received=received, reason=reason)


def deposit_reject(*, actor: Any, transaction: Transaction, reason: str) -> Transaction:
    """Finance records that the money did not arrive (reason required)."""
    reason = clean_reason(reason, required=True)
    locked, _ = _lock_pending_deposit(transaction)
    _check_operator(actor, locked)
    return _refuse(
        locked, actor=actor, status=Transaction.Status.REJECTED, signal=signals.transaction_rejected, reason=reason
    )


def deposit_expire_stale(*, now: datetime | None = None) -> int:
    """Pending deposits older than ``DEPOSIT_TTL`` expire (the money never arrived); returns how many."""
    now = now or timezone.now()
    return expire_pending(
        kind=Transaction.Kind.DEPOSIT,
        older_than=now - settings.DEPOSIT_TTL,
        resolve=lambda pending: _refuse(
            pending,
            actor=None,
            status=Transaction.Status.EXPIRED,
            signal=signals.transaction_expired,
            reason=f"No payment arrived within {settings.DEPOSIT_TTL}.",
            operator_checks=False,
            resolved_at=now,
        ),
    )


# --- the payment provider's callback -------------------------------------------------------------

SIGNATURE_HEADER = "WalletManager-Signature"


class InvalidSignature(Exception):
    """The callback is not signed with our secret, or not recently: answered 401, nothing changes."""


def payment_signature(body: bytes, *, timestamp: int, secret: str | None = None) -> str:
    """The header value a provider sends: ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    secret = secret if secret is not None else settings.PAYMENT_CALLBACK_SECRET
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def verify_payment_signature(body: bytes, header: str | None, *, now: float | None = None) -> None:
    """Raise ``InvalidSignature`` unless ``header`` signs ``body`` with our secret within the tolerance.

    The header is whatever bytes a caller sent (WSGI hands them over as latin-1 text): anything that is
    not ``t=<ASCII digits>`` and ``v1=<64 lowercase hex digits>`` is refused the same way as a wrong
    signature, before it reaches ``int()`` (which accepts ``1_000`` and non-ASCII digits) or
    ``hmac.compare_digest`` (which raises on non-ASCII text)."""
    if not isinstance(header, str) or not header:
        raise InvalidSignature("Missing signature.")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    stamps = parts.get("t", [])
    if len(stamps) != 1 or not _TIMESTAMP.fullmatch(stamps[0]):
        raise InvalidSignature("The signature has no valid timestamp.")
    timestamp = int(stamps[0])
    now = time.time() if now is None else now
    if abs(now - timestamp) > settings.PAYMENT_CALLBACK_TOLERANCE.total_seconds():
        raise InvalidSignature("The signature's timestamp is too far from now.")
    expected = payment_signature(body, timestamp=timestamp).split("v1=", 1)[1].encode("ascii")
    candidates = [value.encode("ascii") for value in parts.get("v1", []) if _HEX_DIGEST.fullmatch(value)]
    # Every well-formed candidate is compared (no early exit), each in constant time, bytes to bytes.
    matches = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    if not any(matches):
        raise InvalidSignature("The signature does not match.")


@dataclass(frozen=True)
class PaymentEvent:
    """What the provider says about a payment, checked (the API's serializer parses the JSON)."""

    reference: str
    provider_id: str
    amount: Any
    currency: str
    status: str  # "succeeded" | "failed"


def deposit_settle(*, event: PaymentEvent) -> tuple[Transaction, bool]:
    """Apply a verified provider callback: ``succeeded`` posts the amount received, ``failed`` rejects
    the deposit. The same ``provider_id`` again returns the first result and changes nothing. One call
    of ``ledger.resolve``, the deposit named by its reference. Returns ``(transaction, replayed)``."""
    code = event.currency.strip().upper() if isinstance(event.currency, str) else ""
    currency = Currency.objects.filter(code=code).first() if 3 <= len(code) <= 10 else None
    if currency is None:
        raise ValidationFailed("No such currency.", field="currency")
    common = dict(
        reference=event.reference.strip().upper(),
        kind=Transaction.Kind.DEPOSIT,
        actor_id=None,
        provider_id=event.provider_id,
        currency=currency,
    )
    if event.status == "failed":
        reason = "The payment provider reported the payment as failed."
        moved = ledger.resolve(outcome="reject", reason=reason, **common)
        return _resolved(moved, actor=None, reason=reason), moved.replayed
    with ledger.money_context():
        received = _clean_amount(event.amount, currency=currency)
        fee = fee_for(kind=Transaction.Kind.DEPOSIT, currency=currency, amount=received)
        if fee >= received:
            raise AmountTooSmall(f"The amount received must exceed the fee of {fee} {currency.code}.", field="amount")
        moved = ledger.resolve(outcome="post", fee=fee, received_amount=received, **common)
    return _resolved(moved, actor=None, reason=""), moved.replayed
