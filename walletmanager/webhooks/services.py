"""Webhooks (SPEC §15): the outbox, endpoints, and delivery with retries.

Publishing writes the event and defers its dispatch inside the caller's database transaction, so an
event exists exactly when the change it reports committed. Dispatch and every delivery attempt run
in workers, never in the request: a slow receiver slows nobody's withdrawal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from walletmanager.actors import require_permission
from walletmanager.audit import audit_record
from walletmanager.database.base import prepared
from walletmanager.exceptions import InvalidState, PermissionDeniedError, ValidationFailed
from walletmanager.jobs import defer_in_transaction, job_retry_now, stalled_job_for
from walletmanager.webhooks import registry, signing, transport
from walletmanager.webhooks.models import (
    ALL_EVENTS,
    MANAGE_WEBHOOKS,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

MAX_ENDPOINTS_PER_OWNER = 10
# Retries wait WEBHOOK_RETRY_BASE_SECONDS × 4^(n-1), but never more than this between two attempts.
MAX_RETRY_DELAY = timedelta(hours=8)


def event_publish(*, type: str, render: Callable[[], dict[str, Any]], owner_ids: Iterable[Any]) -> WebhookEvent | None:
    """Record an event and defer its dispatch in the caller's transaction (the outbox): a rollback
    leaves neither, a commit both. ``render()`` gives its ``data``; ``owner_ids`` (a list, or a
    query of owner ids) says whose wallets it is about.

    An event no live endpoint subscribes to is neither rendered nor recorded — nobody could receive
    it. Rendering, recording and deferring every movement's event cost more than half of the
    ledger's throughput (python -m bench, uniform, 1 worker: 180 -> 76 tps, 7 -> 10 queries and
    2.3 -> 5.5 ms of Python per transfer); one index probe decides instead."""
    from walletmanager.webhooks import tasks

    if not registry.is_event_type(type):
        raise ValueError(f"Unknown webhook event type {type!r}: register it first.")
    owners = sorted({int(owner) for owner in owner_ids if owner is not None})
    if not _anyone_subscribes(type=type, owner_ids=owners):
        return None
    event = WebhookEvent.objects.create(type=type, data=render(), owner_ids=owners)
    defer_in_transaction(tasks.webhook_dispatch, event_id=str(event.pk))
    return event


# --- endpoints -----------------------------------------------------------------------------------


def _clean_events(events: Iterable[str]) -> list[str]:
    events = list(dict.fromkeys(events))
    if not events:
        raise ValidationFailed('Name at least one event type, or "*" for all of them.', field="events")
    unknown = [name for name in events if name != ALL_EVENTS and not registry.is_event_type(name)]
    if unknown:
        raise ValidationFailed(
            f"Unknown event type(s): {', '.join(unknown)}. Known: {', '.join(registry.event_types())}.",
            field="events",
            code="unknown_event_type",
        )
    return [ALL_EVENTS] if ALL_EVENTS in events else events


def _require_manager_or_owner(actor: Any, endpoint: WebhookEndpoint) -> None:
    if endpoint.owner_id != getattr(actor, "pk", None):
        require_permission(actor, MANAGE_WEBHOOKS)


def webhook_endpoint_create(
    *, actor: Any, url: str, events: Iterable[str], description: str = "", scope: str = WebhookEndpoint.Scope.OWN
) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret (the caller shows it once). Clients receive events
    about their own wallets; ``scope="all"`` needs staff with ``manage_webhooks``. The URL must be
    https to a public address unless WEBHOOK_ALLOW_PRIVATE_URLS."""
    events = _clean_events(events)
    if scope == WebhookEndpoint.Scope.ALL:
        if not getattr(actor, "is_staff", False):
            raise PermissionDeniedError(
                "Only staff with the webhooks.manage_webhooks permission may subscribe to all wallets."
            )
        require_permission(actor, MANAGE_WEBHOOKS)
    try:
        transport.url_check(url)
    except transport.WebhookURLRefused as refused:
        raise ValidationFailed(str(refused), field="url", code="webhook_url_refused") from refused
    with transaction.atomic():
        live = WebhookEndpoint.objects.select_for_update().filter(owner=actor, deleted_at__isnull=True)
        if len(live) >= MAX_ENDPOINTS_PER_OWNER:
            raise ValidationFailed(
                f"At most {MAX_ENDPOINTS_PER_OWNER} webhook endpoints each; delete one first.",
                code="too_many_webhook_endpoints",
            )
        endpoint = WebhookEndpoint.objects.create(
            owner=actor, url=url, events=events, description=description, scope=scope, secret=signing.secret_generate()
        )
        audit_record(
            actor=actor,
            action="webhook.endpoint_created",
            target=endpoint,
            data={"url": url, "events": events, "scope": scope},
        )
    return endpoint


def webhook_endpoint_delete(*, actor: Any, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop delivering to an endpoint (its owner, or staff with ``manage_webhooks``); waiting deliveries
    are cancelled, the log is kept. Deleting twice is a no-op."""
    _require_manager_or_owner(actor, endpoint)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if endpoint.deleted_at is not None:
            return endpoint
        endpoint.deleted_at = timezone.now()
        endpoint.is_active = False
        endpoint.save(update_fields=["deleted_at", "is_active"])
        endpoint.deliveries.filter(status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.CANCELLED, next_attempt_at=None
        )
        audit_record(actor=actor, action="webhook.endpoint_deleted", target=endpoint, data={"url": endpoint.url})
    return endpoint


def webhook_endpoint_enable(*, actor: Any, endpoint: WebhookEndpoint, reason: str = "") -> WebhookEndpoint:
    """Deliver to a disabled endpoint again (its owner, or staff with ``manage_webhooks``). Deliveries
    that failed while it was down stay failed: resend the ones that matter."""
    _require_manager_or_owner(actor, endpoint)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if endpoint.deleted_at is not None:
            raise InvalidState("A deleted endpoint cannot be enabled; create a new one.")
        if endpoint.is_active:
            return endpoint
        before = endpoint.disabled_reason
        endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason = True, None, ""
        endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
        audit_record(
            actor=actor,
            action="webhook.endpoint_enabled",
            target=endpoint,
            reason=reason,
            data={"disabled_reason": before},
        )
    return endpoint


def webhook_delivery_resend(*, actor: Any, delivery: WebhookDelivery) -> WebhookDelivery:
    """Try a delivery again now, with a fresh retry window (staff with ``manage_webhooks``). A delivery
    that is still being retried is left to its schedule, unless its attempt stalled (the worker
    sending it vanished): then that job runs again now, so the event still goes out once more, not
    twice, with its ``webhook-id``."""
    from walletmanager.webhooks import tasks

    require_permission(actor, MANAGE_WEBHOOKS)
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",)).select_related("endpoint").get(pk=delivery.pk)
        )
        stalled_job = None
        if delivery.status == WebhookDelivery.Status.PENDING:
            stalled_job = stalled_job_for(task_name=tasks.webhook_deliver.name, args={"delivery_id": delivery.pk})
            if stalled_job is None:
                raise InvalidState("This delivery is still being retried; its next attempt is already scheduled.")
        if not delivery.endpoint.is_active:
            raise InvalidState("The endpoint is disabled or deleted; enable it first.")
        now = timezone.now()
        delivery.status, delivery.retry_window_started_at, delivery.next_attempt_at = (
            WebhookDelivery.Status.PENDING,
            now,
            now,
        )
        delivery.save(update_fields=["status", "retry_window_started_at", "next_attempt_at", "updated_at"])
        if stalled_job is None:
            defer_in_transaction(tasks.webhook_deliver, delivery_id=delivery.pk)
        else:
            job_retry_now(stalled_job)
        audit_record(
            actor=actor,
            action="webhook.delivery_resent",
            target=delivery,
            data={
                "event": delivery.event.public_id,
                "url": delivery.endpoint.url,
                **({"stalled_job": stalled_job} if stalled_job is not None else {}),
            },
        )
    return delivery


# --- dispatch and delivery (run by workers) ------------------------------------------------------


# The question ``_live_endpoints_for(...).exists()`` asks, as one fixed statement: it runs in every
# movement, and building the queryset (with an owners subquery) each time was a third of a
# withdrawal's Python: 3.7 -> 2.5 ms of CPU per withdrawal, the two versions run alternately twice
# (``count_queries_per_movement`` of bench/ledger.py, the per-kind line of python -m bench --profile).
_ANYONE_SUBSCRIBES_SQL = prepared(
    f"SELECT EXISTS (SELECT 1 FROM {WebhookEndpoint._meta.db_table}"
    " WHERE is_active AND deleted_at IS NULL"
    f" AND (scope = '{WebhookEndpoint.Scope.ALL}' OR (scope = '{WebhookEndpoint.Scope.OWN}' AND owner_id = ANY(%s)))"
    f" AND (events @> ARRAY[%s]::varchar[] OR events @> ARRAY['{ALL_EVENTS}']::varchar[]))"
)


def _anyone_subscribes(*, type: str, owner_ids: list[int]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_ANYONE_SUBSCRIBES_SQL, [owner_ids, type])
        return cursor.fetchone()[0]


def _live_endpoints_for(*, type: str, owner_ids: Iterable[Any]):
    """Live endpoints subscribed to ``type``: everything-scope ones, and the owners' own."""
    return (
        WebhookEndpoint.objects.filter(is_active=True, deleted_at__isnull=True)
        .filter(Q(scope=WebhookEndpoint.Scope.ALL) | Q(scope=WebhookEndpoint.Scope.OWN, owner_id__in=owner_ids))
        .filter(Q(events__contains=[type]) | Q(events__contains=[ALL_EVENTS]))
    )


def _subscribers(event: WebhookEvent) -> list[WebhookEndpoint]:
    candidates = _live_endpoints_for(type=event.type, owner_ids=event.owner_ids).select_related("owner")
    # Everything-scope belongs to whoever still holds the permission, not whoever once did.
    return [
        endpoint
        for endpoint in candidates
        if endpoint.scope == WebhookEndpoint.Scope.OWN
        or (endpoint.owner.is_staff and endpoint.owner.has_perm(MANAGE_WEBHOOKS))
    ]


def webhook_event_dispatch(*, event_id: str) -> list[WebhookDelivery]:
    """One delivery per endpoint that wants the event, each deferred; running twice adds none."""
    from walletmanager.webhooks import tasks

    event = WebhookEvent.objects.filter(pk=event_id).first()
    if event is None:
        return []
    created = []
    with transaction.atomic():
        for endpoint in _subscribers(event):
            delivery, is_new = WebhookDelivery.objects.get_or_create(
                event=event, endpoint=endpoint, defaults={"next_attempt_at": timezone.now()}
            )
            if is_new:
                defer_in_transaction(tasks.webhook_deliver, delivery_id=delivery.pk)
                created.append(delivery)
    return created


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: exponential, capped."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 4 ** (attempts - 1)
    return min(timedelta(seconds=seconds), MAX_RETRY_DELAY)


def delivery_body(event: WebhookEvent) -> bytes:
    return json.dumps(event.payload(), cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """POST the event to the endpoint, signed (Standard Webhooks), and keep the attempt. A 2xx
    delivers; anything else is retried with backoff until WEBHOOK_RETRY_WINDOW after the first
    attempt, then the delivery fails and the endpoint is disabled. No transaction is held open
    while the receiver answers."""
    from walletmanager.webhooks import tasks

    delivery = WebhookDelivery.objects.select_related("event", "endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return delivery
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.CANCELLED, next_attempt_at=None, updated_at=timezone.now()
        )
        return delivery
    body = delivery_body(event)
    headers = signing.signature_headers(
        secret=endpoint.secret, message_id=event.public_id, timestamp=int(timezone.now().timestamp()), body=body
    )
    started = timezone.now()
    result = transport.post(endpoint.url, body=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",)).select_related("endpoint").get(pk=delivery.pk)
        )
        if delivery.status != WebhookDelivery.Status.PENDING:
            return delivery  # deleted or cancelled while we were posting
        delivery.attempt_count += 1
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempt_count,
            attempted_at=started,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            response_excerpt=result.response_excerpt,
            error=result.error[:300],
        )
        delivery.last_status_code = result.status_code
        now = timezone.now()
        if result.status_code is not None and 200 <= result.status_code < 300:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                WebhookDelivery.Status.DELIVERED,
                now,
                None,
            )
        else:
            next_attempt = now + retry_delay(delivery.attempt_count)
            if next_attempt > delivery.retry_window_started_at + settings.WEBHOOK_RETRY_WINDOW:
                delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
                _disable(
                    delivery.endpoint,
                    reason=f"Deliveries failed for {settings.WEBHOOK_RETRY_WINDOW}; last: "
                    f"{result.status_code or result.error}.",
                )
            else:
                delivery.next_attempt_at = next_attempt
                defer_in_transaction(
                    tasks.webhook_deliver,
                    schedule_in={"seconds": (next_attempt - now).total_seconds()},
                    delivery_id=delivery.pk,
                )
        delivery.save()
    return delivery


def _disable(endpoint: WebhookEndpoint, *, reason: str) -> None:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if not endpoint.is_active:
        return
    endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason = False, timezone.now(), reason[:300]
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    audit_record(actor=None, action="webhook.endpoint_disabled", target=endpoint, reason=reason)
