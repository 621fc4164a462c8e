"""The tamper-evident seal of the audit trail (SPEC §15).

A periodic job seals new audit events in blocks: ``hash = SHA-256(previous hash ‖ canonical JSON of
each event in id order)``, the first block chained onto 64 zeros. ``audit_verify`` recomputes the
chain; an event changed, deleted or slipped into a sealed range afterwards, even by the database's
owner, breaks the block that covers it.

Writers are never serialised. Event ids come from a sequence, so a transaction still open may hold id
N while N + 1 has committed; sealing past N would leave N out forever. Every event takes its id after
its transaction took an xid (the ``auditevent_number`` trigger), so the sealer reads the sequence's
last value, draws an xid of its own, and waits until every older transaction has ended: by then no
event at or below that value can still appear.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db import transaction as db_transaction

from walletmanager.database.ledger_calls import ledger_call
from walletmanager.exceptions import AuditSealDeferred
from walletmanager.models import AuditEvent, AuditSeal

GENESIS_HASH = "0" * 64
BLOCK_SIZE = 10_000
# Events and seals are read in keyset pages of this many rows, so memory stays flat at any size.
_PAGE = 2_000
# pg_advisory_xact_lock key that only sealers take ("seal" in ASCII): two sealers chain one after
# the other instead of both building on the same last block. Writers never touch it.
_SEALER_LOCK = 0x7365_616C

# created_at as ISO-8601 UTC with microseconds, formatted by PostgreSQL rather than parsed into a
# datetime and formatted back; with the shared decoder and encoder below, verifying 200 000 events
# went from 6.9 s to 3.4 s.
_EVENT_COLUMNS = (
    "id, actor_id, action, target_type, target_id, reason, data::text, ip::text,"
    """ to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
)
# One decoder and encoder for every event: json.loads/dumps with options build a new one per call.
_DATA_DECODER = json.JSONDecoder(parse_float=Decimal)
_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def audit_event_canonical(row: tuple) -> bytes:
    """An event as the seal hashes it: its stored columns as JSON with sorted keys, no spaces, UTF-8;
    ``created_at`` as ``2026-01-31T12:00:00.000000Z`` (UTC), ``ip`` as PostgreSQL's text of it.
    ``data`` is parsed from PostgreSQL's jsonb text with its non-integer numbers kept as their exact
    digits (written as strings): a float would round them, and a change in the 18th digit must show.
    ``row`` is one row of ``_EVENT_COLUMNS``."""
    event_id, actor_id, action, target_type, target_id, reason, data, ip, created_at = row
    event = {
        "id": event_id,
        "actor_id": actor_id,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "reason": reason,
        "data": _DATA_DECODER.decode(data),
        "ip": ip,
        "created_at": created_at,
    }
    return _CANONICAL_ENCODER.encode(event).encode()


def _events(*, after: int, up_to: int) -> Iterator[tuple]:
    """The events with ``after < id <= up_to`` in id order, a page at a time."""
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT {_EVENT_COLUMNS} FROM walletmanager_auditevent"
                " WHERE id > %s AND id <= %s ORDER BY id LIMIT %s",
                [after, up_to, _PAGE],
            )
            rows = cursor.fetchall()
            yield from rows
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]


def _seals() -> Iterator[AuditSeal]:
    """Every block in chain order, a page at a time."""
    after = 0
    while True:
        page = list(AuditSeal.objects.filter(last_event_id__gt=after).order_by("last_event_id")[:_PAGE])
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1].last_event_id


def _settled_horizon(*, wait: float) -> int:
    """The highest event id below which no open transaction can still add an event, waiting at most
    ``wait`` seconds for older transactions to end."""
    with connection.cursor() as cursor:
        # Autocommit: the xid is drawn after the sequence is read, in a transaction that ends at once.
        cursor.execute(
            "SELECT COALESCE(pg_sequence_last_value("
            "pg_get_serial_sequence('walletmanager_auditevent', 'id')::regclass), 0)"
        )
        horizon = cursor.fetchone()[0]
        cursor.execute("SELECT pg_current_xact_id()::text")
        probe = cursor.fetchone()[0]
        deadline = time.monotonic() + wait
        pause = 0.01
        while True:
            # A snapshot's xmin is its oldest running xid: past the probe, every transaction that
            # could hold an id <= horizon has committed or rolled back.
            cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot()) > %s::xid8", [probe])
            if cursor.fetchone()[0]:
                return horizon
            if time.monotonic() >= deadline:
                raise AuditSealDeferred(
                    f"Transactions that may still add audit events up to #{horizon} were open after {wait:g} s: "
                    "nothing was sealed; the next run tries again."
                )
            time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 2, 0.5)


def audit_seal(*, wait: float = 10.0, block_size: int = BLOCK_SIZE) -> list[AuditSeal]:
    """Seal every audit event no open transaction can still add below, in id order, in blocks of at
    most ``block_size`` events, each hashed onto the block before. Waits at most ``wait`` seconds for
    older transactions to end, else seals nothing (``AuditSealDeferred``). Returns the new blocks."""
    if connection.in_atomic_block:
        raise RuntimeError("audit_seal waits for older transactions to end; it cannot run inside one.")
    horizon = _settled_horizon(wait=wait)
    sealed: list[AuditSeal] = []
    with db_transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEALER_LOCK])
        tip = AuditSeal.objects.order_by("-last_event_id").first()
        previous_hash = tip.hash if tip is not None else GENESIS_HASH
        digest = hashlib.sha256(bytes.fromhex(previous_hash))
        first_id = last_id = count = 0
        for row in _events(after=tip.last_event_id if tip is not None else 0, up_to=horizon):
            first_id, last_id, count = (first_id if count else row[0]), row[0], count + 1
            digest.update(audit_event_canonical(row))
            if count == block_size:
                sealed.append(_seal_block(first_id, last_id, count, previous_hash=previous_hash, digest=digest))
                previous_hash, count = sealed[-1].hash, 0
                digest = hashlib.sha256(bytes.fromhex(previous_hash))
        if count:
            sealed.append(_seal_block(first_id, last_id, count, previous_hash=previous_hash, digest=digest))
    return sealed


_SEAL_SQL = (
    "SELECT id, first_event_id, last_event_id, event_count, previous_hash, hash, sealed_at"
    " FROM ledger.audit_seal_append(%s::bigint, %s::bigint, %s::integer, %s, %s)"
)


def _seal_block(first_event_id: int, last_event_id: int, event_count: int, *, previous_hash: str, digest) -> AuditSeal:
    """Append the block through ``ledger.audit_seal_append``, which refuses one that does not chain
    onto the newest block or does not cover exactly the next events (SPEC §16)."""
    ((seal_id, first, last, count, previous, block_hash, sealed_at),) = ledger_call(
        _SEAL_SQL, [first_event_id, last_event_id, event_count, previous_hash, digest.hexdigest()]
    )
    return AuditSeal(
        id=seal_id,
        first_event_id=first,
        last_event_id=last,
        event_count=count,
        previous_hash=previous,
        hash=block_hash,
        sealed_at=sealed_at,
    )


@dataclass(frozen=True)
class BrokenBlock:
    block: int  # the seal's id
    first_event_id: int
    last_event_id: int
    problem: str

    def as_text(self) -> str:
        return (
            f"block {self.block} (events {self.first_event_id}–{self.last_event_id}) no longer matches: {self.problem}"
        )


@dataclass(frozen=True)
class AuditVerification:
    blocks_checked: int
    events_checked: int
    broken: BrokenBlock | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def as_text(self) -> str:
        if self.broken is not None:
            return f"Audit seal broken: {self.broken.as_text()}."
        blocks, events = self.blocks_checked, self.events_checked
        return f"{blocks} block{'s' * (blocks != 1)}, {events} event{'s' * (events != 1)} verified."


def audit_verify() -> AuditVerification:
    """Recompute the chain from the events as they are now and compare it block by block with the
    seals; stop at the first block that no longer matches (an event changed, missing or added inside
    its range, or a block that does not follow the one before). Events not yet sealed are not checked."""
    blocks = events = 0
    with db_transaction.atomic():
        if len(connection.atomic_blocks) == 1:
            # Events and seals read from one snapshot, so a seal committed meanwhile cannot look broken.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        tip = AuditSeal.objects.order_by("-last_event_id").values_list("last_event_id", flat=True).first()
        stream = _events(after=0, up_to=tip or 0)
        row = next(stream, None)
        expected_previous = GENESIS_HASH
        for seal in _seals():
            digest = hashlib.sha256(bytes.fromhex(seal.previous_hash))
            count = 0
            while row is not None and row[0] <= seal.last_event_id:
                digest.update(audit_event_canonical(row))
                count += 1
                row = next(stream, None)
            problem = _block_problem(seal, expected_previous=expected_previous, count=count, digest=digest.hexdigest())
            if problem:
                broken = BrokenBlock(seal.pk, seal.first_event_id, seal.last_event_id, problem)
                return AuditVerification(blocks_checked=blocks, events_checked=events, broken=broken)
            blocks, events = blocks + 1, events + count
            expected_previous = seal.hash
    return AuditVerification(blocks_checked=blocks, events_checked=events)


def _block_problem(seal: AuditSeal, *, expected_previous: str, count: int, digest: str) -> str:
    if seal.previous_hash != expected_previous:
        return "it does not follow the block before it (a block was removed or rewritten)"
    if count < seal.event_count:
        return f"{seal.event_count - count} sealed event(s) missing"
    if count > seal.event_count:
        return f"{count - seal.event_count} event(s) added inside its sealed range"
    if digest != seal.hash:
        return "an event's content changed"
    return ""


@dataclass(frozen=True)
class AuditSealStatus:
    """How far the trail is sealed: the newest block, and how many events no block covers yet."""

    latest: AuditSeal | None
    unsealed: int


def audit_seal_status() -> AuditSealStatus:
    """For the dashboard: two index probes (the unsealed tail stays small)."""
    latest = AuditSeal.objects.order_by("-last_event_id").first()
    unsealed = AuditEvent.objects.filter(id__gt=latest.last_event_id if latest else 0).count()
    return AuditSealStatus(latest=latest, unsealed=unsealed)


def audit_unsealed_count() -> int:
    return audit_seal_status().unsealed
