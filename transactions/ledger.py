"""The posting engine: locks the client assets a movement touches, checks them, writes entries.

Design (SPEC §5, §10):

* Only client ``BalanceAsset`` rows are locked and updated. System wallets (external, fx, fees) have
  no asset rows: their positions are the sums of their entries, so no row is shared by every
  transaction and concurrent movements on distinct wallets never wait for each other.
* Every asset a movement touches is opened if missing (a multi-currency balance's first use of a
  currency) and locked in ONE call, ``ledger_lock_assets`` (migration 0012): missing rows inserted
  sorted before any lock, then ``SELECT … FOR UPDATE`` ordered by primary key, so two movements
  over the same assets always lock them in the same order and cannot deadlock.
* Checks run on the locked rows (for the error messages: insufficient funds, frozen balance); the
  transaction, its entries and its audit event are then written in ONE call, ``ledger_post``
  (migration 0012). Python keeps the policy (who may, fees, rates, states); it never writes a
  position: PostgreSQL moves ``posted`` as each entry is inserted and ``held`` as a pending
  withdrawal starts or ends (migration 0008), re-checks the floor (CHECK) on that very write and
  the zero sum of the entries (deferred trigger) at COMMIT.
* Before any asset is locked, the movement has taken share locks on the wallet, owner and balance
  rows it depends on (``transactions.services._Wallets``), so their statuses cannot change under it.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from balances.exceptions import BalanceFrozen, InsufficientFunds
from balances.models import Balance, BalanceAsset
from transactions.models import Transaction
from walletmanager.database.base import prepared
from walletmanager.error_codes import ErrorCode
from walletmanager.exceptions import Conflict, InvalidState
from walletmanager.models import AuditEvent
from walletmanager.money import format_number
from wallets.models import Wallet

# Wide enough for any product of two NUMERIC(38, 18) values: the default context (28 digits) would
# silently round amounts such as 123456789012345.123456789012345678.
MONEY_CONTEXT = Context(prec=120, traps=[InvalidOperation, DivisionByZero, Overflow])

# NUMERIC(38, 18) holds 20 integer digits; a position at or beyond this cannot be stored.
POSITION_LIMIT = Decimal(10) ** 20

AssetKey = tuple[int, str]  # (balance_id, currency code)


class PositionOutOfRange(Conflict):
    code = ErrorCode.AMOUNT_OUT_OF_RANGE
    default_detail = "The resulting balance would exceed the largest amount the ledger can hold."


@contextmanager
def money_context() -> Iterator[None]:
    with localcontext(MONEY_CONTEXT):
        yield


@dataclass(frozen=True)
class Leg:
    """One signed entry of a transaction: ``amount`` of ``currency`` into (+) or out of (−) ``wallet``."""

    wallet: Wallet
    currency: str
    amount: Decimal


@dataclass
class AssetChange:
    """A locked client asset and what the movement does to it: its positions before and after."""

    asset: BalanceAsset
    wallet: Wallet
    posted_delta: Decimal = Decimal(0)
    held_delta: Decimal = Decimal(0)

    posted_after: Decimal = field(init=False)
    held_after: Decimal = field(init=False)

    def __post_init__(self) -> None:
        self.posted_after = self.asset.posted + self.posted_delta
        self.held_after = self.asset.held + self.held_delta

    @property
    def available_delta(self) -> Decimal:
        return self.posted_delta - self.held_delta


@dataclass
class Plan:
    """The locked, checked effect of a movement on client assets, ready to be written."""

    legs: Sequence[Leg]
    changes: dict[AssetKey, AssetChange] = field(default_factory=dict)

    def change(self, wallet: Wallet, currency: str) -> AssetChange:
        return self.changes[(wallet.balance.pk, currency)]

    def write(self, transaction: Transaction, *, new: bool, event: AuditEvent | None = None) -> None:
        """Write ``transaction`` (inserted when ``new``, built by ``new_transaction``; otherwise the
        resolution of a pending one: its status, fee, amounts received, times and reason), the
        plan's entries and the audit ``event`` in one round trip (``ledger_post``, migration 0012).
        PostgreSQL moves the positions itself: each entry moves its asset's ``posted`` and a pending
        withdrawal starting or ending moves ``held`` (migration 0008). The assets in this plan are
        locked, so the positions it computed from them are the ones the database reaches; they are
        kept on the assets for the response."""
        entries = merge_legs(self.legs)
        with connection.cursor() as cursor:
            cursor.execute(
                _POST_SQL,
                [
                    _row_json(transaction),
                    new,
                    [leg.wallet.pk for leg in entries],
                    [leg.currency for leg in entries],
                    [leg.amount for leg in entries],
                    _row_json(event) if event is not None else None,
                ],
            )
        for change in self.changes.values():
            change.asset.posted, change.asset.held = change.posted_after, change.held_after
        if new:
            # What save() records after an INSERT, so that a later save() of this object updates it.
            transaction._state.adding = False
            transaction._state.db = connection.alias


def new_transaction(**fields) -> Transaction:
    """A ``Transaction`` ready to be inserted by ``Plan.write(..., new=True)``: defaults and
    ``created_at`` are set as ``save()`` would set them."""
    return _unsaved(Transaction(**fields))


def new_audit_event(**fields) -> AuditEvent:
    """A movement's audit event (the fields of ``walletmanager.audit.audit_event_fields``), ready for
    ``Plan.write``: its id comes from the audit sequence as it is inserted."""
    return _unsaved(AuditEvent(**fields))


def _unsaved(row):
    for model_field in row._meta.concrete_fields:
        model_field.pre_save(row, True)  # auto_now_add: created_at
    return row


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()  # every microsecond (DjangoJSONEncoder keeps milliseconds)
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    return _JSON_ENCODER.default(value)  # Decimal as its exact digits, UUID as text


def _row_json(row) -> str:
    """A new or changed row's columns as ``jsonb_populate_record`` reads them: every column by name,
    its value as JSON (PostgreSQL casts each to its column's type, and refuses what does not fit)."""
    return json.dumps(
        {model_field.column: getattr(row, model_field.attname) for model_field in row._meta.concrete_fields},
        default=_json_value,
    )


_JSON_ENCODER = DjangoJSONEncoder()


def merge_legs(legs: Iterable[Leg]) -> list[Leg]:
    """One entry per wallet and currency (a leg of 0 is dropped: entries are never zero)."""
    totals: dict[tuple[object, str], Decimal] = {}
    wallets: dict[object, Wallet] = {}
    for leg in legs:
        key = (leg.wallet.pk, leg.currency)
        totals[key] = totals.get(key, Decimal(0)) + leg.amount
        wallets[leg.wallet.pk] = leg.wallet
    return [Leg(wallets[wallet_id], currency, amount) for (wallet_id, currency), amount in totals.items() if amount]


_ASSET_COLUMNS = ", ".join(model_field.column for model_field in BalanceAsset._meta.concrete_fields)
_LOCK_SQL = prepared(f"SELECT {_ASSET_COLUMNS} FROM ledger_lock_assets(%s::uuid[], %s::text[])")
_POST_SQL = prepared("SELECT ledger_post(%s::jsonb, %s, %s::uuid[], %s::text[], %s::numeric[], %s::jsonb)")


def _lock(keys: Sequence[AssetKey], wallets: dict[AssetKey, Wallet]) -> dict[AssetKey, BalanceAsset]:
    """The client assets of ``keys``, opened if missing (a multi-currency balance's first use of a
    currency) and locked in primary-key order: ``ledger_lock_assets`` (migration 0012), one round trip."""
    assets = BalanceAsset.objects.raw(
        # The model's columns by name, not *: a column added by a later migration must not change the
        # result type of this statement, which is prepared on long-lived connections.
        _LOCK_SQL,
        [[wallets[key].pk for key in keys], [currency for _, currency in keys]],
    )
    return {(asset.balance_id, asset.currency_id): asset for asset in assets}


@dataclass
class _Delta:
    """What a movement does to one client asset before it is locked: ``posted`` and ``held`` changes."""

    wallet: Wallet
    posted: Decimal = Decimal(0)
    held: Decimal = Decimal(0)


def _delta_of(deltas: dict[AssetKey, _Delta], leg: Leg) -> _Delta:
    key = (leg.wallet.balance.pk, leg.currency)
    if key not in deltas:
        deltas[key] = _Delta(wallet=leg.wallet)
    return deltas[key]


def plan(
    *,
    legs: Sequence[Leg] = (),
    holds: Sequence[Leg] = (),
    check_frozen: bool = True,
    locked: Iterable[BalanceAsset] = (),
) -> Plan:
    """Lock the client assets touched by ``legs`` (entries) and ``holds`` (changes of ``held``) and
    check every asset whose available amount drops: unfrozen balance, not below its floor. Assets
    this movement already ``locked`` (``lock_asset``) are not locked again.

    Raises ``BalanceFrozen`` / ``InsufficientFunds`` before anything is written."""
    deltas: dict[AssetKey, _Delta] = {}
    for leg in legs:
        if not leg.wallet.is_system:
            _delta_of(deltas, leg).posted += leg.amount
    for leg in holds:
        if not leg.wallet.is_system:
            _delta_of(deltas, leg).held += leg.amount
    if not deltas:
        return Plan(legs=legs)

    keys = sorted(deltas)
    assets = {(asset.balance_id, asset.currency_id): asset for asset in locked}
    to_lock = [key for key in keys if key not in assets]
    if to_lock:
        assets.update(_lock(to_lock, {key: deltas[key].wallet for key in to_lock}))
    if len(assets) != len(keys):
        raise InvalidState("A wallet of this movement has no balance.")

    result = Plan(legs=legs)
    for key in keys:
        delta = deltas[key]
        wallet = delta.wallet
        change = AssetChange(asset=assets[key], wallet=wallet, posted_delta=delta.posted, held_delta=delta.held)
        asset = change.asset
        new_posted, new_held = change.posted_after, change.held_after
        if abs(new_posted) >= POSITION_LIMIT or new_held >= POSITION_LIMIT:
            raise PositionOutOfRange()
        if change.available_delta < 0:
            if check_frozen and wallet.balance.status == Balance.Status.FROZEN:
                raise BalanceFrozen()
            if new_posted - new_held + asset.credit_limit < 0:
                raise InsufficientFunds(
                    f"Not enough available {key[1]}: {format_number(asset.available)} available, "
                    f"{format_number(-change.available_delta)} needed."
                )
        if new_held < 0:
            raise Conflict("The hold to release is larger than the amount held.", code="invalid_state")
        result.changes[key] = change
    return result


def lock_asset(wallet: Wallet, currency: str) -> BalanceAsset:
    """Lock one client asset ahead of ``plan`` (pass it as ``locked``), so a rule that reads the
    wallet's history — velocity limits — runs serialised with the other movements of the asset."""
    key = (wallet.balance.pk, currency)
    assets = _lock([key], {key: wallet})
    if key not in assets:
        raise InvalidState("The wallet has no balance.")
    return assets[key]
