"""``Idempotency-Key`` for ``POST /api/transactions/`` (SPEC §5).

1. The key is claimed per user with ``INSERT … ON CONFLICT DO NOTHING`` in its own short transaction.
2. The request then runs in one database transaction that first locks the claim row, performs the
   movement and stores its response in the claim row: the money and the stored response commit
   together or not at all, so a crash can never leave a movement without its stored response.
3. A duplicate finds the row: another body → 422 ``idempotency_key_reused``; a stored response →
   replayed with ``Idempotent-Replayed: true``; row locked by the first request (still running) →
   409 ``idempotency_in_progress`` with ``Retry-After``.
4. A row that is neither locked nor answered belongs to a request that is no longer running (its
   transaction rolled back: the process died, the connection was lost): the duplicate takes it over
   at once and performs the request under the lock. In the instant between a live claimer's insert
   and its lock a duplicate may take over too; the claimer then waits for that lock and replays the
   duplicate's stored response, so the movement still happens once.

Only 2xx and 409 responses (the request reached the service) are stored; any other outcome deletes
the claim so the client can retry with the same key. Keys older than ``IDEMPOTENCY_KEY_TTL`` are
reusable (and purged by ``idempotency_purge_expired``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db import transaction as db_transaction
from django.utils import timezone
from rest_framework.response import Response

from transactions.exceptions import IdempotencyInProgress, IdempotencyKeyReused
from transactions.models import IdempotencyKey
from walletmanager.exceptions import ValidationFailed
from walletmanager.keyed_hash import keyed_digest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Printable ASCII, space to tilde: what an HTTP header carries unambiguously (the schema says the same).
KEY_PATTERN = re.compile(rf"[ -~]{{1,{MAX_KEY_LENGTH}}}")


def clean_key(raw: str | None) -> str | None:
    """None without the header; the key when it is 1–255 printable ASCII characters; else a 400."""
    if raw is None:
        return None
    if not KEY_PATTERN.fullmatch(raw):
        raise ValidationFailed(f"Must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.", field=HEADER)
    return raw


def fingerprint(data: Any) -> str:
    """HMAC-SHA256 under ``PIN_KEY`` of the canonical JSON of the parsed body (keys sorted, Decimals
    as their text). Keyed, because the body may carry a PIN: an unkeyed hash of a body with a
    4–6 digit PIN gives the PIN away to anyone who reads the table (SPEC §13)."""
    if hasattr(data, "lists"):  # a QueryDict from a form post
        data = {key: values for key, values in data.lists()}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return keyed_digest(canonical, purpose="idempotency-fingerprint")


def _claim(*, user_id: Any, key: str, request_fingerprint: str) -> int | None:
    """Insert the claim; its id, or None when the key already has a row. Autocommitted at once."""
    with db_transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {IdempotencyKey._meta.db_table} (user_id, key, request_fingerprint, created_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [user_id, key, request_fingerprint, timezone.now()],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _replay(row: IdempotencyKey) -> Response:
    return Response(row.response_body, status=row.response_status, headers={REPLAYED_HEADER: "true"})


def _storable(status: int) -> bool:
    return 200 <= status < 300 or status == 409


def _json(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


# Ledger request ids (SPEC §16) derived from a user's Idempotency-Key: the namespace of their UUIDv5.
LEDGER_REQUESTS = uuid.UUID("0b5e7c1e-5a1d-4f53-9d43-7d2d5c3f8e21")


def ledger_request_id(*, user_id: Any, key: str, claimed_at: datetime) -> uuid.UUID:
    """The ledger's request id for this use of the key: the same for every retry while the key lives,
    a new one when an expired key starts afresh."""
    return uuid.uuid5(LEDGER_REQUESTS, f"{user_id}\n{key}\n{claimed_at.isoformat()}")


def idempotent_call(
    *, user: Any, key: str, request_fingerprint: str, perform: Callable[[uuid.UUID], Response]
) -> Response:
    """Run ``perform(request_id)`` at most once for (user, key); see the module docstring for the
    protocol. ``request_id`` is the ledger's id of the request (``ledger_request_id``), so the ledger
    itself makes one movement of it even if the stored response were lost (SPEC §16).

    ``perform`` returns a Response for every domain outcome (errors rendered by the view)."""
    claimed_id = _claim(user_id=user.pk, key=key, request_fingerprint=request_fingerprint)
    now = timezone.now()
    with db_transaction.atomic():
        # The claimer waits for the lock (a duplicate may hold it for an instant while it looks);
        # a duplicate never waits: a held row means the first request is still running.
        rows = IdempotencyKey.objects.select_for_update(skip_locked=claimed_id is None).filter(user=user, key=key)
        row = rows.first()
        if row is None:
            # Held by the request that is still running (or deleted a moment ago: retry).
            raise IdempotencyInProgress()
        expired = row.created_at < now - settings.IDEMPOTENCY_KEY_TTL
        if row.pk != claimed_id and expired:
            # A key past its lifetime starts afresh.
            row.request_fingerprint, row.response_status, row.response_body = request_fingerprint, None, None
            row.created_at, row.completed_at = now, None
            row.save()
        elif row.request_fingerprint != request_fingerprint:
            raise IdempotencyKeyReused()
        elif row.response_status is not None:
            return _replay(row)
        # Otherwise the row is ours, or its claimer is no longer running (the lock was free): go on.

        with db_transaction.atomic():  # a savepoint: a refused movement rolls back to here
            response = perform(ledger_request_id(user_id=user.pk, key=key, claimed_at=row.created_at))
            if not _storable(response.status_code):
                # Roll the savepoint back (nothing should have been written, but be sure).
                db_transaction.set_rollback(True)
        if _storable(response.status_code):
            row.response_status = response.status_code
            row.response_body = _json(response.data)
            row.completed_at = timezone.now()
            row.save(update_fields=["response_status", "response_body", "completed_at"])
        else:
            row.delete()
    return response


def idempotency_purge_expired(*, now: datetime | None = None) -> int:
    """Delete keys older than ``IDEMPOTENCY_KEY_TTL``; returns how many."""
    cutoff = (now or timezone.now()) - settings.IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
