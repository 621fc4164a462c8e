"""Writing the audit trail (SPEC §6). Receivers of domain signals call ``audit_record`` inside the
database transaction of the change, so an event exists exactly when the change committed."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from walletmanager.database.ledger_calls import ledger_call
from walletmanager.exceptions import ValidationFailed
from walletmanager.models import AuditEvent
from walletmanager.money import format_number

_request_context = threading.local()


@contextmanager
def audit_context(*, ip: str | None):
    """Remember the client IP of the request being served so events record where an action came from."""
    previous = getattr(_request_context, "ip", None)
    _request_context.ip = ip
    try:
        yield
    finally:
        _request_context.ip = previous


def current_ip() -> str | None:
    return getattr(_request_context, "ip", None)


def audit_value(value: Any) -> str | None:
    """A field value as the trail records it: None stays None; a Decimal as plain digits without
    trailing zeros (a form's 250 and the database's 250.000000000000000000 are one value)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format_number(value)
    return str(value)


def audit_state(row: models.Model, *, exclude: tuple[str, ...] = ()) -> dict[str, str | None]:
    """A row's fields as the trail records them (``audit_value``), but for ``exclude``."""
    return {
        field.name: audit_value(getattr(row, field.attname))
        for field in type(row)._meta.concrete_fields
        if field.name not in exclude
    }


def set_fields(row: models.Model, values: dict[str, Any], *, editable: tuple[str, ...]) -> models.Model:
    """Set an operator's ``values`` on ``row`` (not saved); a field outside ``editable`` is refused,
    naming it, so a service's keyword arguments cannot reach a column it does not own."""
    unknown = sorted(set(values) - set(editable))
    if unknown:
        raise ValidationFailed(f"{unknown[0]!r} cannot be set here.", field=unknown[0])
    for name, value in values.items():
        setattr(row, name, value)
    return row


def save_audited(instance: models.Model, *, actor: Any, created, changed, exclude: tuple[str, ...] = ()) -> None:
    """Save an operator's new or edited row inside the caller's transaction and send ``created``
    (with the fields after) or ``changed`` (before/after of the fields that changed; nothing when
    none did). The stored row is locked first, so two edits cannot both claim the same "before"."""
    model = type(instance)
    stored = model.objects.select_for_update().filter(pk=instance.pk).first() if instance.pk is not None else None
    before = audit_state(stored, exclude=exclude) if stored is not None else None
    instance.save()
    after = audit_state(instance, exclude=exclude)
    if before is None:
        created.send(sender=model, instance=instance, actor=actor, data={"after": after})
    elif after != before:
        names = [name for name in after if after[name] != before[name]]
        changed.send(
            sender=model,
            instance=instance,
            actor=actor,
            data={"before": {name: before[name] for name in names}, "after": {name: after[name] for name in names}},
        )


def audit_event_fields(
    *,
    actor: Any,
    action: str,
    target: models.Model | None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    target_type: str = "",
) -> dict[str, Any]:
    """The fields of one audit event, as ``audit_record`` saves it. ``actor`` is None (or an anonymous
    user) for the system. (A movement's event is written by the ledger's posting function, in the
    same statement as the movement: ``ledger.move``, ``ledger.resolve``, ``ledger.reverse``.)

    ``target`` None with a ``target_type`` records an event about something that does not exist,
    such as a failed login for an unknown email (``target_id`` stays empty)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return dict(
        actor=actor,
        action=action,
        target_type=target._meta.label_lower if target is not None else target_type,
        target_id=str(target.pk) if target is not None else "",
        reason=reason or "",
        data=data or {},
        ip=current_ip(),
    )


_APPEND_SQL = "SELECT id, created_at FROM ledger.audit_append(%s::bigint, %s, %s, %s, %s, %s::jsonb, %s::inet)"


def audit_record(**fields: Any) -> AuditEvent:
    """Append one audit event (the fields of ``audit_event_fields``) through ``ledger.audit_append``,
    the only way the runtime role writes the trail (SPEC §16). Returns the event as stored."""
    event = AuditEvent(**audit_event_fields(**fields))
    data = json.dumps(event.data, cls=DjangoJSONEncoder)
    ((event.id, event.created_at),) = ledger_call(
        _APPEND_SQL,
        [event.actor_id, event.action, event.target_type, event.target_id, event.reason, data, event.ip],
    )
    return event


def connect_audit_receivers(actions: dict, *, app_label: str) -> None:
    """Connect one receiver per domain signal that appends the matching audit event.

    Every domain signal is sent with ``instance``, ``actor`` and optionally ``reason`` and ``data``
    (before/after); the services send them inside their database transaction, so the event commits
    or rolls back with the change. An action is a name, or a callable ``(instance, actor) -> name``
    for a signal that means different things (its ``str()`` names the receiver).
    """
    for signal, action in actions.items():

        def receiver(sender, *, instance, actor=None, reason="", data=None, _action=action, **kwargs):
            name = _action(instance, actor) if callable(_action) else _action
            audit_record(actor=actor, action=name, target=instance, reason=reason, data=data)

        signal.connect(receiver, weak=False, dispatch_uid=f"audit:{app_label}:{action}")
