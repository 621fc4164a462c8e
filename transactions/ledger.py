"""The posting engine: locks the client assets a movement touches, checks them, writes entries.

Design (SPEC §5, §10):

* Only client ``BalanceAsset`` rows are locked and updated. System wallets (external, fx, fees) have
  no asset rows: their positions are the sums of their entries, so no row is shared by every
  transaction and concurrent movements on distinct wallets never wait for each other.
* Every asset a movement touches is locked in ONE ``SELECT … FOR UPDATE`` ordered by primary key,
  so two movements over the same assets always lock them in the same order and cannot deadlock.
* Multi-currency balances get their asset row lazily: ``INSERT … ON CONFLICT DO NOTHING`` (rows
  sorted, before any lock is taken) and then the lock. Assets are never deleted, so once a process
  has seen one it skips that insert; a missing row is still created by the repair path.
* Checks run on the locked rows (for the error messages: insufficient funds, frozen balance); the
  new transaction and its entries are then written in ONE statement (plain SQL: this path runs for
  every movement and the ORM's query building cost more CPU than PostgreSQL spent on the
  statements). Python never writes a position: PostgreSQL moves ``posted`` as each entry is
  inserted and ``held`` as a pending withdrawal starts or ends (migration 0008), re-checks the floor
  (CHECK) on that very write and the zero sum of the entries (deferred trigger) at COMMIT.
* Before any asset is locked, the movement has taken share locks on the wallet, owner and balance
  rows it depends on (``transactions.services._Wallets``), so their statuses cannot change under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext

from django.db import connection
from django.utils import timezone

from balances.exceptions import BalanceFrozen, InsufficientFunds
from balances.models import Balance, BalanceAsset
from transactions.models import Entry, Transaction
from walletmanager.error_codes import ErrorCode
from walletmanager.exceptions import Conflict
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
    asset: BalanceAsset
    wallet: Wallet
    posted_delta: Decimal = Decimal(0)
    held_delta: Decimal = Decimal(0)

    @property
    def available_delta(self) -> Decimal:
        return self.posted_delta - self.held_delta


@dataclass
class Plan:
    """The locked, checked effect of a movement on client assets, ready to be written."""

    legs: Sequence[Leg]
    changes: dict[AssetKey, AssetChange] = field(default_factory=dict)

    def asset(self, wallet: Wallet, currency: str) -> BalanceAsset:
        return self.changes[(wallet.balance.pk, currency)].asset

    def write(self, transaction: Transaction, *, new: bool) -> None:
        """Write the plan's entries for ``transaction`` and, when ``new``, the transaction row itself
        (built by ``new_transaction``), in one statement. PostgreSQL moves the positions itself: each
        entry moves its asset's ``posted`` and a pending withdrawal starting or ending moves ``held``
        (migration 0008). The assets in this plan are locked, so the positions it computed from them
        are the ones the database reaches; they are kept on the assets for the response."""
        now = timezone.now()
        for change in self.changes.values():
            change.asset.posted += change.posted_delta
            change.asset.held += change.held_delta
        entries = merge_legs(self.legs)
        parts, params = [], []
        if new:
            sql, values = _insert_statement(transaction)
            parts.append(sql)
            params.extend(values)
        if entries:
            parts.append(
                f"INSERT INTO {ENTRY_TABLE} (transaction_id, wallet_id, currency_id, amount, created_at) "
                f"VALUES {', '.join(['(%s, %s, %s, %s::numeric, %s)'] * len(entries))}"
            )
            for leg in entries:
                params.extend((transaction.pk, leg.wallet.pk, leg.currency, leg.amount, now))
        if not parts:
            return
        # One statement: a data-modifying WITH runs to completion even though nothing reads it, and
        # the entries' foreign key to the new transaction is checked at COMMIT (deferred).
        sql = parts[-1]
        if len(parts) > 1:
            sql = "WITH " + ", ".join(f"step{index} AS ({part})" for index, part in enumerate(parts[:-1])) + " " + sql
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        if new:
            # What save() records after an INSERT, so that a later save() of this object updates it.
            transaction._state.adding = False
            transaction._state.db = connection.alias


def new_transaction(**fields) -> Transaction:
    """A ``Transaction`` ready to be inserted by ``Plan.write(..., new=True)``: defaults and
    ``created_at`` are set as ``save()`` would set them."""
    transaction = Transaction(**fields)
    for model_field in _TRANSACTION_FIELDS:
        model_field.pre_save(transaction, True)  # auto_now_add: created_at
    return transaction


def _insert_statement(transaction: Transaction) -> tuple[str, list]:
    columns = [model_field.column for model_field in _TRANSACTION_FIELDS]
    values = [
        model_field.get_db_prep_save(getattr(transaction, model_field.attname), connection)
        for model_field in _TRANSACTION_FIELDS
    ]
    return (
        f"INSERT INTO {Transaction._meta.db_table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
        values,
    )


def merge_legs(legs: Iterable[Leg]) -> list[Leg]:
    """One entry per wallet and currency (a leg of 0 is dropped: entries are never zero)."""
    totals: dict[tuple[object, str], Decimal] = {}
    wallets: dict[object, Wallet] = {}
    for leg in legs:
        key = (leg.wallet.pk, leg.currency)
        totals[key] = totals.get(key, Decimal(0)) + leg.amount
        wallets[leg.wallet.pk] = leg.wallet
    return [Leg(wallets[wallet_id], currency, amount) for (wallet_id, currency), amount in totals.items() if amount]


def _create_missing(keys: Sequence[AssetKey], wallets: dict[AssetKey, Wallet]) -> None:
    # Sorted, in one statement, before any lock: two movements creating the same new rows insert
    # them in the same order, so they cannot deadlock on each other's uncommitted inserts.
    BalanceAsset.objects.bulk_create(
        [
            BalanceAsset(
                balance_id=balance_id, currency_id=currency, credit_limit=wallets[(balance_id, currency)].credit_limit
            )
            for balance_id, currency in sorted(keys)
        ],
        ignore_conflicts=True,
    )


_TRANSACTION_FIELDS = Transaction._meta.concrete_fields
ASSET_TABLE = BalanceAsset._meta.db_table
ENTRY_TABLE = Entry._meta.db_table
_ASSET_COLUMNS = [field.column for field in BalanceAsset._meta.concrete_fields]
_ASSET_ATTNAMES = [field.attname for field in BalanceAsset._meta.concrete_fields]

# (balance_id, currency) of multi-currency assets seen to exist. Assets are never deleted, so the
# pre-lock insert can be skipped for them; if one is gone after all (a rolled-back creation, a
# flushed test database) the lock does not find it and the repair path below creates it.
_known_assets: set[AssetKey] = set()
_KNOWN_ASSETS_LIMIT = 200_000


def _lock(keys: Sequence[AssetKey]) -> dict[AssetKey, BalanceAsset]:
    """``SELECT … ORDER BY id FOR UPDATE`` of the assets: rows are locked in primary-key order."""
    sql = (
        f"SELECT {', '.join(_ASSET_COLUMNS)} FROM {ASSET_TABLE} "
        f"WHERE (balance_id, currency_id) IN ({', '.join(['(%s, %s)'] * len(keys))}) "
        "ORDER BY id FOR UPDATE"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for key in keys for value in key])
        rows = cursor.fetchall()
    assets = (BalanceAsset.from_db(connection.alias, _ASSET_ATTNAMES, row) for row in rows)
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
) -> Plan:
    """Lock the client assets touched by ``legs`` (entries) and ``holds`` (changes of ``held``) and
    check every asset whose available amount drops: unfrozen balance, not below its floor.

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

    wallets = {key: delta.wallet for key, delta in deltas.items()}
    keys = sorted(deltas)
    multi = [key for key in keys if wallets[key].balance.kind == Balance.Kind.MULTI and key not in _known_assets]
    if multi:
        _create_missing(multi, wallets)
    assets = _lock(keys)
    missing = [key for key in keys if key not in assets]
    if missing:
        # A regular balance always gets its asset when the wallet is created; this only repairs a
        # wallet made some other way. Re-locking rows already held is harmless.
        _create_missing(missing, wallets)
        assets = _lock(keys)
    if multi:
        if len(_known_assets) >= _KNOWN_ASSETS_LIMIT:
            _known_assets.clear()
        _known_assets.update(multi)

    result = Plan(legs=legs)
    for key in keys:
        delta = deltas[key]
        wallet = delta.wallet
        change = AssetChange(asset=assets[key], wallet=wallet, posted_delta=delta.posted, held_delta=delta.held)
        asset = change.asset
        new_posted = asset.posted + delta.posted
        new_held = asset.held + delta.held
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


def lock_asset(wallet: Wallet, currency: str) -> None:
    """Lock one client asset ahead of ``plan`` (which re-locks it at no cost), so a rule that reads
    the wallet's history — velocity limits — runs serialised with the other movements of the asset."""
    if not wallet.is_system:
        _lock([(wallet.balance.pk, currency)])
