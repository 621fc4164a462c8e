"""Every write to a wallet (SPEC §4). Each transition locks the wallet row, returns early when the
wallet is already in the target state and sends one domain signal (one audit event) inside its
database transaction.

Lock order shared with the ledger (SPEC §14): owner, wallet and balance rows first (a movement
share-locks them, a status change locks the one it changes for update), then balance assets
(ordered by pk), which only the balances app's registered steps lock and write. ``actor=None``
means the system (management commands).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from walletmanager.actors import acts_as_staff, clean_reason, refuse_own, require_permission
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.exceptions import (
    InvalidState,
    NotFoundError,
    PermissionDeniedError,
    UserBlocked,
    UserClosed,
    ValidationFailed,
)
from walletmanager.keyed_hash import check_keyed_hash, is_keyed_hash, make_keyed_hash
from walletmanager.money import MAX_AMOUNT, InvalidAmount, fractional_digits, to_decimal
from wallets import signals
from wallets.exceptions import (
    InvalidPin,
    PinLocked,
    WalletBlocked,
    WalletClosed,
    WalletLimitReached,
    WalletNotEmpty,
)
from wallets.models import Wallet

# ASCII digits only: str.isdigit() would also accept "١٢٣٤" or "²³⁴⁵".
PIN_PATTERN = re.compile(r"[0-9]{4,6}")
NAME_MAX_LENGTH = Wallet._meta.get_field("name").max_length
CREDIT_LIMIT_PERMISSION = "wallets.set_credit_limit"
BLOCK_PERMISSION = "wallets.block_wallet"
# Failures older than this are forgotten even without a correct PIN in between.
PIN_FAILURE_WINDOW_SECONDS = 24 * 60 * 60


# --- helpers -----------------------------------------------------------------------------------


def _lock(wallet: Wallet) -> Wallet:
    # FOR NO KEY UPDATE: conflicts with the share lock every movement takes on the wallet (so a
    # status change and a movement never overlap) but not with foreign-key checks of new rows.
    return Wallet.objects.select_for_update(of=("self",), no_key=True).get(pk=wallet.pk)


def _refuse_system(wallet: Wallet, verb: str) -> None:
    if wallet.is_system:
        raise InvalidState(f"System wallets can never be {verb}.")


def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("A name is required.", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed(f"At most {NAME_MAX_LENGTH} characters.", field="name")
    return name


def _clean_pin(pin: str | None) -> str:
    if not isinstance(pin, str) or not PIN_PATTERN.fullmatch(pin):
        raise ValidationFailed("The PIN must be 4 to 6 digits.", field="pin")
    return pin


def _clean_credit_limit(value: Any, *, decimals: int | None = None) -> Decimal:
    try:
        limit = to_decimal(value)
    except InvalidAmount as error:
        raise ValidationFailed(str(error), field="credit_limit") from None
    if not limit.is_finite() or limit < 0:
        raise ValidationFailed("The credit limit must be a number ≥ 0.", field="credit_limit")
    if limit > MAX_AMOUNT:
        raise ValidationFailed(f"The credit limit must not exceed {MAX_AMOUNT}.", field="credit_limit")
    if decimals is not None and fractional_digits(limit) > decimals:
        raise ValidationFailed(
            f"The credit limit may have at most {decimals} decimal places for this currency.", field="credit_limit"
        )
    return limit


def _state(wallet: Wallet, *fields: str) -> dict[str, Any]:
    return {field: str(getattr(wallet, field)) for field in fields}


# --- the balances app's steps ---------------------------------------------------------------------
# A wallet is never without its balance, its assets mirror its credit limit (PostgreSQL checks the
# floor on the asset) and it closes only when they hold nothing. Those rows belong to the balances
# app, which sits above wallets (it imports wallets, never the reverse). So balances hands wallets
# its steps from BalancesConfig.ready(), and the wallet services call them directly inside their
# atomic block, at a known place in the lock order: required steps with return values and errors,
# not signals that any number of receivers (or none) may hear. The entry points stay where they are
# (the wallets API, the admin, the approvals desk, the commands), and the arrow still points down.


@dataclass(frozen=True)
class BalanceSteps:
    """What the wallet services ask of the balances app, each called inside their transaction with
    the wallet row already locked (SPEC §14: the wallet, then its assets ordered by pk)."""

    # open(wallet=, kind=, currency=): open a new wallet's balance (and its asset) and return it, or
    # raise a domain error for a refused kind or currency.
    open: Callable[..., Any]
    # apply_credit_limit(wallet=, credit_limit=): lock the wallet's assets, refuse (InvalidState) a
    # limit below the credit already used, and set their credit_limit mirror to it.
    apply_credit_limit: Callable[..., None]
    # lock_and_check_empty(wallet=): lock the wallet's assets and tell whether every one has
    # posted = 0 and held = 0 (True for a wallet without a balance).
    lock_and_check_empty: Callable[..., bool]


_registered_balance_steps: BalanceSteps | None = None


def register_balance_steps(steps: BalanceSteps) -> None:
    """Called once by the balances app, from ``BalancesConfig.ready()``."""
    global _registered_balance_steps
    _registered_balance_steps = steps


def _balance_steps() -> BalanceSteps:
    if _registered_balance_steps is None:
        raise RuntimeError("No balance steps registered: the balances app must be installed.")
    return _registered_balance_steps


# --- creation and edits --------------------------------------------------------------------------


def wallet_create(
    *,
    actor: Any,
    owner: Any,
    name: str,
    kind: str = Wallet.Kind.DEBIT,
    balance_kind: str,
    currency: str | None,
    pin: str,
    credit_limit: Decimal | str | int = Decimal(0),
    credit_reason: str = "",
) -> Wallet:
    """Open a wallet and its balance for ``owner`` (a user, or their id). Clients open debit wallets
    for themselves; credit wallets (regular balance only, Finance with ``set_credit_limit``) and
    wallets for someone else are staff-only; an owner holds at most ``MAX_WALLETS_PER_USER``
    wallets that are not closed. A credit wallet opens with no credit: its limit is an approval
    request that a second operator decides (SPEC §12)."""
    staff = acts_as_staff(actor)
    owner_id = getattr(owner, "pk", owner)
    if not staff and owner_id != getattr(actor, "pk", None):
        raise PermissionDeniedError("Only staff may open a wallet for another user.")
    if kind not in Wallet.Kind.values:
        raise ValidationFailed(f"Choose one of: {', '.join(Wallet.Kind.values)}.", field="kind")
    if kind == Wallet.Kind.CREDIT:
        if not staff:
            raise PermissionDeniedError("Only staff may open credit wallets.")
        require_permission(actor, CREDIT_LIMIT_PERMISSION, detail="Only Finance may open credit wallets.")
    if balance_kind not in ("regular", "multi"):
        raise ValidationFailed("Choose one of: regular, multi.", field="balance_kind")
    if kind == Wallet.Kind.CREDIT and balance_kind != "regular":
        raise ValidationFailed("Credit wallets hold a single currency: use a regular balance.", field="balance_kind")
    name = _clean_name(name)
    pin = _clean_pin(pin)
    limit = _clean_credit_limit(credit_limit)
    if limit and not staff:
        raise PermissionDeniedError("Only staff may set a credit limit.")
    if limit and kind != Wallet.Kind.CREDIT:
        raise ValidationFailed("Only credit wallets have a credit limit.", field="credit_limit")

    with transaction.atomic():
        # Locking the owner serialises concurrent openings, so the wallet limit cannot be overrun.
        owner = get_user_model().objects.select_for_update(no_key=True).filter(pk=owner_id).first()
        if owner is None:
            raise NotFoundError("No such user.")
        if getattr(owner, "is_system", False):
            raise InvalidState("System wallets are created by migrations only.")
        if owner.status == "blocked":
            raise UserBlocked("The owner is blocked.")
        if owner.status == "closed":
            raise UserClosed("The owner is closed.")
        open_wallets = owner.wallets.exclude(status=Wallet.Status.CLOSED).count()
        if open_wallets >= settings.MAX_WALLETS_PER_USER:
            raise WalletLimitReached(
                f"A user may hold at most {settings.MAX_WALLETS_PER_USER} wallets that are not closed."
            )
        wallet = Wallet.objects.create(
            owner=owner, name=name, kind=kind, credit_limit=Decimal(0), pin=wallet_pin_hash(pin)
        )
        # The balances app's step (registered above), called here inside this transaction: a
        # refused currency rolls the wallet back too.
        _balance_steps().open(wallet=wallet, kind=balance_kind, currency=currency)
        signals.wallet_created.send(
            sender=Wallet,
            instance=wallet,
            actor=actor,
            data={
                "after": {
                    "owner": str(owner.pk),
                    "name": name,
                    "kind": kind,
                    "balance_kind": balance_kind,
                    "currency": currency,
                    "credit_limit": "0",
                }
            },
        )
        if limit:
            from walletmanager.approvals.services import approval_request

            approval_request(
                actor=actor,
                action="set_credit_limit",
                wallet=wallet,
                credit_limit=limit,
                reason=credit_reason or f"Credit line of the new wallet {wallet.address}",
            )
    return wallet


def wallet_rename(*, actor: Any, wallet: Wallet, name: str) -> Wallet:
    """Rename a wallet (owner or staff); closed wallets are final."""
    if not acts_as_staff(actor) and wallet.owner_id != actor.pk:
        raise PermissionDeniedError("Only the owner or staff may rename a wallet.")
    name = _clean_name(name)
    with transaction.atomic():
        wallet = _lock(wallet)
        if wallet.name == name:
            return wallet
        if wallet.status == Wallet.Status.CLOSED:
            raise WalletClosed()
        before = wallet.name
        wallet.name = name
        wallet.save(update_fields=["name", "updated_at"])
        signals.wallet_updated.send(
            sender=Wallet, instance=wallet, actor=actor, data={"before": {"name": before}, "after": {"name": name}}
        )
    return wallet


def _check_credit_limit(wallet: Wallet, credit_limit: Any) -> tuple[Wallet, Decimal]:
    """The wallet (locked) and the new limit, checked: credit wallets only, not closed, the
    currency's decimals."""
    wallet = _lock(wallet)
    if wallet.status == Wallet.Status.CLOSED:
        raise WalletClosed()
    if wallet.kind != Wallet.Kind.CREDIT:
        raise ValidationFailed("Only credit wallets have a credit limit.", field="credit_limit")
    # Read through the reverse relation so wallets never imports the balances app.
    balance = wallet.balance
    decimals = balance.currency.decimals if balance.currency_id else None
    return wallet, _clean_credit_limit(credit_limit, decimals=decimals)


def wallet_set_credit_limit(*, actor: Any, wallet: Wallet, credit_limit: Decimal | str | int) -> Wallet:
    """Set a credit wallet's limit (``set_credit_limit``); it never drops below the credit already
    used, and the assets' ``credit_limit`` mirror (which PostgreSQL checks) moves with it. Raising
    it runs only when a second operator approves the request (``wallet_request_credit_limit``)."""
    require_permission(actor, CREDIT_LIMIT_PERMISSION, detail="Only Finance may set a credit limit.")
    refuse_own(actor, {wallet.owner_id})
    with transaction.atomic():
        wallet, limit = _check_credit_limit(wallet, credit_limit)
        if limit == wallet.credit_limit:
            return wallet
        # The balances app locks the assets (after the wallet, SPEC §14), refuses a limit below the
        # credit used and moves their mirror, before the wallet's own row changes.
        _balance_steps().apply_credit_limit(wallet=wallet, credit_limit=limit)
        before = wallet.credit_limit
        wallet.credit_limit = limit
        wallet.save(update_fields=["credit_limit", "updated_at"])
        signals.wallet_updated.send(
            sender=Wallet,
            instance=wallet,
            actor=actor,
            data={"before": {"credit_limit": str(before)}, "after": {"credit_limit": str(limit)}},
        )
    return wallet


def wallet_request_credit_limit(*, actor: Any, wallet: Wallet, credit_limit: Any, reason: str = ""):
    """An operator's change of a credit limit: lowering it takes effect now (less risk); setting or
    raising it is an approval request for a second operator (SPEC §12). Returns the wallet or the
    request."""
    require_permission(actor, CREDIT_LIMIT_PERMISSION, detail="Only Finance may set a credit limit.")
    refuse_own(actor, {wallet.owner_id})
    with transaction.atomic():
        locked, limit = _check_credit_limit(wallet, credit_limit)
    if limit <= locked.credit_limit:
        return wallet_set_credit_limit(actor=actor, wallet=locked, credit_limit=limit)
    from walletmanager.approvals.services import approval_request

    return approval_request(actor=actor, action="set_credit_limit", wallet=locked, credit_limit=limit, reason=reason)


def wallet_update(
    *, actor: Any, wallet: Wallet, name: str | None = None, credit_limit: Any = None, reason: str = ""
) -> Wallet | ApprovalRequest:
    """An edit of a wallet (the API's PATCH): its name (``wallet_rename``) and its credit limit
    (``wallet_request_credit_limit``), both or neither: a refused limit leaves the old name. Returns
    the wallet, or the approval request that a raised limit becomes."""
    with transaction.atomic():
        if name is not None:
            wallet = wallet_rename(actor=actor, wallet=wallet, name=name)
        if credit_limit is not None:
            return wallet_request_credit_limit(actor=actor, wallet=wallet, credit_limit=credit_limit, reason=reason)
    return wallet


# --- state transitions ---------------------------------------------------------------------------


def wallet_block(*, actor: Any, wallet: Wallet, reason: str) -> Wallet:
    """Staff with ``wallets.block_wallet`` block an active wallet (reason required): nothing moves
    in or out until unblocked."""
    require_permission(actor, BLOCK_PERMISSION)
    reason = clean_reason(reason, required=True)
    with transaction.atomic():
        wallet = _lock(wallet)
        _refuse_system(wallet, "blocked")
        if wallet.status == Wallet.Status.BLOCKED:
            return wallet
        if wallet.status == Wallet.Status.CLOSED:
            raise WalletClosed()
        before = _state(wallet, "status")
        wallet.status = Wallet.Status.BLOCKED
        wallet.block_reason = reason
        wallet.blocked_at = timezone.now()
        wallet.save(update_fields=["status", "block_reason", "blocked_at", "updated_at"])
        signals.wallet_blocked.send(
            sender=Wallet,
            instance=wallet,
            actor=actor,
            reason=reason,
            data={"before": before, "after": _state(wallet, "status")},
        )
    return wallet


def wallet_unblock(*, actor: Any, wallet: Wallet, reason: str = "") -> Wallet:
    """Staff with ``wallets.block_wallet`` unblock a blocked wallet back to active; a closed wallet
    stays closed. Never their own wallet (SPEC §12)."""
    require_permission(actor, BLOCK_PERMISSION)
    refuse_own(actor, {wallet.owner_id})
    reason = clean_reason(reason, required=False)
    with transaction.atomic():
        wallet = _lock(wallet)
        if wallet.status == Wallet.Status.ACTIVE:
            return wallet
        if wallet.status == Wallet.Status.CLOSED:
            raise WalletClosed()
        before = {**_state(wallet, "status"), "block_reason": wallet.block_reason}
        wallet.status = Wallet.Status.ACTIVE
        wallet.block_reason = ""
        wallet.blocked_at = None
        wallet.save(update_fields=["status", "block_reason", "blocked_at", "updated_at"])
        signals.wallet_unblocked.send(
            sender=Wallet,
            instance=wallet,
            actor=actor,
            reason=reason,
            data={"before": before, "after": _state(wallet, "status")},
        )
    return wallet


def wallet_close(*, actor: Any, wallet: Wallet, pin: str | None = None, reason: str = "") -> Wallet:
    """Close a wallet for good: the owner with the right PIN (not while blocked), or staff with
    ``wallets.block_wallet`` without one, only when every asset has posted = 0 and held = 0."""
    staff = acts_as_staff(actor)
    if actor is None or wallet.owner_id != actor.pk:
        if not staff:
            raise PermissionDeniedError("Only the owner or staff may close a wallet.")
        # Closing someone else's wallet is the operator power of blocking it.
        require_permission(actor, BLOCK_PERMISSION)
    reason = clean_reason(reason, required=False)
    if not staff:
        # Before the transaction, so the audit event of a PIN lock is not rolled back with it.
        wallet_verify_pin(wallet=wallet, pin=pin)
    with transaction.atomic():
        wallet = _lock(wallet)
        _refuse_system(wallet, "closed")
        if wallet.status == Wallet.Status.CLOSED:
            return wallet
        if not staff and wallet.status == Wallet.Status.BLOCKED:
            raise WalletBlocked("The wallet is blocked; ask support to close it.")
        # The balances app locks the assets (so no deposit lands between the check and the close)
        # and tells whether they hold anything.
        if not _balance_steps().lock_and_check_empty(wallet=wallet):
            raise WalletNotEmpty()
        before = _state(wallet, "status")
        wallet.status = Wallet.Status.CLOSED
        wallet.closed_at = timezone.now()
        wallet.save(update_fields=["status", "closed_at", "updated_at"])
        signals.wallet_closed.send(
            sender=Wallet,
            instance=wallet,
            actor=actor,
            reason=reason,
            data={"before": before, "after": _state(wallet, "status")},
        )
    return wallet


# --- PIN -----------------------------------------------------------------------------------------
# Failures are counted in the cache (Redis in production), never in the database: the withdrawal
# and transfer services verify the PIN inside their own transaction, which rolls back when the PIN is
# wrong, so a database counter would be rolled back with it and never reach five.
#
# Each attempt is counted *before* the PIN is compared (SPEC §13): ``cache.incr`` is atomic (Redis
# INCR; local memory under a lock), so of any number of parallel guesses at most ``PIN_MAX_ATTEMPTS``
# are ever compared and the rest are refused as locked.

PIN_HASH_PURPOSE = "wallet-pin"


def wallet_pin_hash(pin: str) -> str:
    """What a wallet stores for its PIN: HMAC-SHA256 under ``PIN_KEY`` (walletmanager.keyed_hash)."""
    return make_keyed_hash(pin, purpose=PIN_HASH_PURPOSE)


def pin_failures_key(wallet_id: Any) -> str:
    return f"wallet-pin:failures:{wallet_id}"


def pin_locked_until_key(wallet_id: Any) -> str:
    return f"wallet-pin:locked-until:{wallet_id}"


def wallet_pin_locked_until(*, wallet: Wallet) -> datetime | None:
    """When the wallet's PIN lock ends, or None when the PIN is not locked."""
    locked_until = _lock_end(cache.get(pin_locked_until_key(wallet.pk)))
    if locked_until is None:
        return None
    return locked_until if locked_until > timezone.now() else None


def _lock_end(stored: Any) -> datetime | None:
    """The lock's end as the cache keeps it: an ISO 8601 instant (no float anywhere near money)."""
    return datetime.fromisoformat(stored) if isinstance(stored, str) else None


def _reserve_pin_attempt(wallet_id: Any) -> int:
    """Count one more attempt on the wallet's PIN; its number since the last right PIN."""
    key = pin_failures_key(wallet_id)
    cache.add(key, 0, timeout=PIN_FAILURE_WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=PIN_FAILURE_WINDOW_SECONDS)
        return 1


def _pin_lock_ended(wallet_id: Any) -> bool:
    """True for exactly one caller once a lock's end has passed (it removes the lock's timestamp);
    False while locked, or when no lock is recorded yet (a guess racing the one that locks)."""
    key = pin_locked_until_key(wallet_id)
    locked_until = _lock_end(cache.get(key))
    if locked_until is None or locked_until > timezone.now():
        return False
    return bool(cache.delete(key))


# How long a PIN check waits for checks already in flight on the same wallet before it gives up.
PIN_IN_FLIGHT_WAIT_SECONDS = 2.0
PIN_IN_FLIGHT_POLL_SECONDS = 0.02


def _reserve_pin_attempt_or_wait(wallet: Wallet) -> int:
    """Reserve this check's attempt number (at most ``PIN_MAX_ATTEMPTS`` since the last right PIN).

    Over the limit without a lock being set, the other attempts are still in flight (the owner's
    app sending several payments at once): give the reservation back and wait for them. Each right
    PIN resets the count, a wrong fifth one sets the lock, so a waiting check is either compared
    within the limit or refused as locked — never one guess more than the limit."""
    deadline = time.monotonic() + PIN_IN_FLIGHT_WAIT_SECONDS
    while True:
        if wallet_pin_locked_until(wallet=wallet) is not None:
            raise PinLocked()
        attempt = _reserve_pin_attempt(wallet.pk)
        if attempt <= settings.PIN_MAX_ATTEMPTS:
            return attempt
        if _pin_lock_ended(wallet.pk):
            # The lock is over but its count has not expired yet: whoever removes the lock starts afresh.
            cache.delete(pin_failures_key(wallet.pk))
            continue
        _release_pin_attempt(wallet.pk)
        if time.monotonic() >= deadline:
            raise PinLocked()  # still over the limit: refused, never compared
        time.sleep(PIN_IN_FLIGHT_POLL_SECONDS)


def _release_pin_attempt(wallet_id: Any) -> None:
    try:
        cache.decr(pin_failures_key(wallet_id))
    except ValueError:  # the count was reset (a right PIN) or expired meanwhile: nothing to give back
        pass


def _pin_matches(wallet: Wallet, pin: str) -> bool:
    stored = wallet.pin
    if not stored:
        return False
    if is_keyed_hash(stored):
        return check_keyed_hash(pin, stored, purpose=PIN_HASH_PURPOSE)
    # A PIN stored before keyed hashes (Django's password hashers, Argon2): checked that way once,
    # then re-keyed, so every PIN moves to HMAC on its owner's next right PIN.
    if not check_password(pin, stored):
        return False
    rekeyed = wallet_pin_hash(pin)
    Wallet.objects.filter(pk=wallet.pk, pin=stored).update(pin=rekeyed)
    wallet.pin = rekeyed
    return True


def wallet_verify_pin(*, wallet: Wallet, pin: str | None) -> None:
    """Raise PinLocked while the PIN is locked, InvalidPin for a wrong PIN; the fifth wrong PIN in a
    row locks it for ``PIN_LOCK_DURATION``; a right PIN resets the count. The attempt is counted
    before the PIN is compared, so parallel guesses cannot pass the limit."""
    attempt = _reserve_pin_attempt_or_wait(wallet)
    if isinstance(pin, str) and PIN_PATTERN.fullmatch(pin) and _pin_matches(wallet, pin):
        cache.delete(pin_failures_key(wallet.pk))
        return
    if attempt < settings.PIN_MAX_ATTEMPTS:
        raise InvalidPin()

    lock_seconds = settings.PIN_LOCK_DURATION.total_seconds()
    locked_until = timezone.now() + settings.PIN_LOCK_DURATION
    cache.set(pin_locked_until_key(wallet.pk), locked_until.isoformat(), timeout=lock_seconds)
    # The count is not reset here but expires with the lock: a guess that passed the lock check just
    # before the lock was set still reserves an attempt beyond the limit and is refused unchecked
    # (deleting the count would have handed it attempt 1).
    cache.touch(pin_failures_key(wallet.pk), timeout=lock_seconds)
    # The audit event rides in the caller's transaction when there is one (and rolls back with it,
    # so callers verify the PIN before opening theirs); the lock lives in the cache regardless.
    signals.wallet_pin_locked.send(
        sender=Wallet,
        instance=wallet,
        actor=None,
        reason=f"{attempt} wrong PINs in a row",
        data={"after": {"pin_locked_until": locked_until.isoformat()}},
    )
    raise PinLocked()
