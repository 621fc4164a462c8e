"""The ledger's door on the Python side (SPEC §16): PostgreSQL functions of the ``ledger`` schema write
every transaction, entry, position, audit event and outbox row; the runtime role has no INSERT, UPDATE
or DELETE of its own on those tables. Each service makes ONE call here:

* ``move()`` → ``ledger.move``: a new deposit request, withdrawal, transfer, exchange or adjustment;
* ``resolve()`` → ``ledger.resolve``: a pending withdrawal or deposit posted, rejected, cancelled or
  expired (a provider's settlement included);
* ``reverse()`` → ``ledger.reverse``: a posted transaction reversed.

Each function share-locks the wallets, owners and balances it depends on in wallet order, locks the
client assets in id order, checks statuses, floors and velocity, derives the entries from the kind and
amounts, and returns the transaction as written (``sql/0014_ledger_move.sql``). Python decides who may
and what it costs. PostgreSQL moves ``posted`` as each entry is inserted and ``held`` as a pending
withdrawal starts or ends (triggers), re-checks the floor (CHECK) on that very write and the zero sum
of the entries (deferred trigger) at COMMIT. System wallets (external, fx, fees) have no asset rows:
their positions are the sums of their entries, so no row is shared by every transaction.

On its own a call is its own database transaction (one round trip); inside a caller's transaction (an
idempotent request, an approval) it runs in a savepoint, so a refusal leaves the caller's work intact.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext

from django.db import connection
from django.db import transaction as db_transaction

from transactions.models import Transaction
from walletmanager.audit import current_ip
from walletmanager.database.base import prepared
from walletmanager.database.ledger_calls import ledger_errors
from wallets.models import Wallet

# Wide enough for any product of two NUMERIC(38, 18) values: the default context (28 digits) would
# silently round amounts such as 123456789012345.123456789012345678.
MONEY_CONTEXT = Context(prec=120, traps=[InvalidOperation, DivisionByZero, Overflow])


@contextmanager
def money_context() -> Iterator[None]:
    with localcontext(MONEY_CONTEXT):
        yield


@dataclass(frozen=True)
class Position:
    """A client asset's positions right after a movement, as ``ledger.move`` returns them."""

    posted: Decimal
    held: Decimal
    credit_limit: Decimal

    @property
    def available(self) -> Decimal:
        return self.posted - self.held + self.credit_limit


@dataclass(frozen=True)
class Moved:
    """What ``ledger.move`` returns: the transaction as written, the source asset after it (None for
    a deposit request, which moves nothing yet) and whether the request id had been seen before."""

    transaction: Transaction
    replayed: bool


_MOVE_SQL = prepared(
    "SELECT txn::text, posted, held, credit_limit, replayed FROM ledger.move("
    "%s::uuid, %s, %s::bigint, %s::inet, %s::uuid, %s, %s::numeric, %s::numeric, %s, %s::uuid, %s, %s::numeric,"
    " %s::numeric, %s, %s, %s, %s)"
)
_JSON_DECODER = json.JSONDecoder(parse_float=Decimal)
_UUID_COLUMNS = ("id", "wallet_id", "to_wallet_id", "reverses_id")
_TIME_COLUMNS = ("created_at", "posted_at", "resolved_at")
_AMOUNT_COLUMNS = ("amount", "fee", "to_amount", "rate", "received_amount")


def move(
    *,
    request_id: uuid.UUID | None,
    kind: str,
    actor_id: int | None,
    wallet: Wallet,
    currency,
    amount: Decimal,
    fee: Decimal = Decimal(0),
    to_address: str | None = None,
    to_wallet_id=None,
    to_currency=None,
    to_amount: Decimal | None = None,
    rate: Decimal | None = None,
    description: str = "",
    reason: str = "",
    reference: str | None = None,
    direction: str | None = None,
) -> Moved:
    """One movement in one statement (``ledger.move``): the database locks, checks, writes the
    transaction, its entries, audit event and outbox row, and returns what it wrote. Python has already
    decided who may (ownership, PIN, permissions) and priced it (fee, rate, to_amount)."""
    # On its own the statement is its own transaction (one round trip). Inside a caller's transaction
    # (an idempotent request, an approval, a test) a savepoint keeps a refusal from ending it.
    savepoint = db_transaction.atomic() if connection.in_atomic_block else nullcontext()
    with ledger_errors(), savepoint, connection.cursor() as cursor:
        cursor.execute(
            _MOVE_SQL,
            [
                request_id or uuid.uuid4(),
                kind,
                actor_id,
                current_ip(),
                wallet.pk,
                currency.code,
                amount,
                fee,
                to_address,
                to_wallet_id,
                to_currency.code if to_currency is not None else None,
                to_amount,
                rate,
                description,
                reason,
                reference,
                direction,
            ],
        )
        text, posted, held, credit_limit, replayed = cursor.fetchone()
    return _moved(text, posted, held, credit_limit, replayed, wallet=wallet, currency=currency, to_currency=to_currency)


_RESOLVE_SQL = prepared(
    "SELECT txn::text, posted, held, credit_limit, replayed FROM ledger.resolve("
    "%s::uuid, %s, %s, %s::bigint, %s::inet, %s, %s::numeric, %s::numeric, %s, %s::timestamptz, %s, %s::bigint, %s, %s)"
)


def resolve(
    *,
    transaction_id=None,
    reference: str | None = None,
    kind: str,
    outcome: str,
    actor_id: int | None,
    reason: str = "",
    fee: Decimal | None = None,
    received_amount: Decimal | None = None,
    provider_id: str | None = None,
    resolved_at: datetime | None = None,
    operator_checks: bool = False,
    owner_id: int | None = None,
    currency=None,
) -> Moved:
    """Resolve a pending ``kind`` in one statement (``ledger.resolve``): ``outcome`` is post, reject,
    cancel or expire. The database locks the row first (one resolution wins), refuses an operator's own
    wallet (``operator_checks``) or another owner's transaction (``owner_id``), and writes what
    ``move`` writes. A settlement names its deposit by ``reference`` and the provider's ``provider_id``
    (the same id again replays the first result)."""
    savepoint = db_transaction.atomic() if connection.in_atomic_block else nullcontext()
    with ledger_errors(), savepoint, connection.cursor() as cursor:
        cursor.execute(
            _RESOLVE_SQL,
            [
                transaction_id,
                kind,
                outcome,
                actor_id,
                current_ip(),
                reason,
                fee,
                received_amount,
                provider_id,
                resolved_at,
                operator_checks,
                owner_id,
                reference,
                currency.code if currency is not None else None,
            ],
        )
        text, posted, held, credit_limit, replayed = cursor.fetchone()
    return _moved(text, posted, held, credit_limit, replayed, currency=currency)


_REVERSE_SQL = prepared(
    "SELECT txn::text, posted, held, credit_limit, replayed FROM ledger.reverse(%s::uuid, %s::bigint, %s::inet, %s)"
)


def reverse(*, transaction_id, actor_id: int | None, reason: str) -> Moved:
    """Reverse a posted transaction in one statement (``ledger.reverse``): the reversal carries the
    original's entries negated and the original becomes ``reversed`` with it."""
    savepoint = db_transaction.atomic() if connection.in_atomic_block else nullcontext()
    with ledger_errors(), savepoint, connection.cursor() as cursor:
        cursor.execute(_REVERSE_SQL, [transaction_id, actor_id, current_ip(), reason])
        text, posted, held, credit_limit, replayed = cursor.fetchone()
    return _moved(text, posted, held, credit_limit, replayed)


def _moved(text, posted, held, credit_limit, replayed, *, wallet=None, currency=None, to_currency=None) -> Moved:
    """The transaction a ledger function returned (``to_jsonb`` of its row), rendered as a model instance
    with what the caller already holds attached, so rendering it asks the database nothing more."""
    row = _JSON_DECODER.decode(text)
    fields = {column: row[column] for column in _TRANSACTION_COLUMNS}
    for column in _UUID_COLUMNS:
        fields[column] = uuid.UUID(fields[column]) if fields[column] else None
    for column in _TIME_COLUMNS:
        fields[column] = datetime.fromisoformat(fields[column]) if fields[column] else None
    for column in _AMOUNT_COLUMNS:
        fields[column] = Decimal(fields[column]) if fields[column] is not None else None
    transaction = Transaction(**fields)
    if currency is not None and fields["currency_id"] == currency.code:
        transaction.currency = currency
    if to_currency is not None and fields["to_currency_id"] == to_currency.code:
        transaction.to_currency = to_currency
    if wallet is not None and fields["wallet_id"] == wallet.pk:
        transaction.wallet = wallet
    # The source asset right after the change, where it has one: never for a deposit that did not post
    # (a request, a rejection, an expiry moves nothing), never for a replay.
    moved_money = transaction.kind != Transaction.Kind.DEPOSIT or transaction.status == Transaction.Status.POSTED
    transaction.balance_after = (
        Position(posted=posted, held=held, credit_limit=credit_limit) if posted is not None and moved_money else None
    )
    return Moved(transaction=transaction, replayed=replayed)


_TRANSACTION_COLUMNS = [field.attname for field in Transaction._meta.concrete_fields]
