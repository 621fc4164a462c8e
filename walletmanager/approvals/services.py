"""Request, approve, reject and expire approval requests (SPEC §12). Each is one database
transaction with its audit event; approving runs the action's service inside it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from walletmanager.actors import clean_reason, refuse_own, require_permission
from walletmanager.approvals import registry
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.audit import audit_record
from walletmanager.exceptions import DomainError, InvalidState, SameOperator, ValidationFailed


def _action(name: str) -> registry.ApprovalAction:
    try:
        return registry.get(name)
    except KeyError:
        raise ValidationFailed(f"Unknown action {name[:64]!r}.", field="action") from None


def approval_check_maker(*, actor: Any, action: str) -> registry.ApprovalAction:
    """Whether ``actor`` may ask for ``action`` at all: an operator holding its permission.
    ``approval_request`` starts with it; the API asks it before reading a request's body, so a caller
    without the power is refused before any wallet is looked up."""
    spec = _action(action)
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise InvalidState("An approval request needs an operator who makes it.")
    require_permission(actor, spec.permission, detail=spec.denied)
    return spec


def approval_request(*, actor: Any, action: str, reason: str, **arguments: Any) -> ApprovalRequest:
    """A maker asks for ``action``: checked now (a request that could never run is refused at once),
    run only when a different operator approves it."""
    spec = approval_check_maker(actor=actor, action=action)
    reason = clean_reason(reason, required=True)
    prepared = spec.prepare(actor=actor, **arguments)
    refuse_own(actor, prepared.owner_ids)
    with transaction.atomic():
        request = ApprovalRequest.objects.create(
            action=action,
            payload=prepared.payload,
            summary=prepared.summary[:255],
            target_type=prepared.target_type,
            target_id=prepared.target_id,
            requested_by=actor,
            reason=reason,
        )
        audit_record(
            actor=actor,
            action="approval.requested",
            target=request,
            reason=reason,
            data={
                "action": action,
                "summary": request.summary,
                "payload": prepared.payload,
                "target": f"{prepared.target_type}:{prepared.target_id}",
            },
        )
    return request


def _lock_pending(request: ApprovalRequest) -> ApprovalRequest:
    locked = ApprovalRequest.objects.select_for_update(no_key=True).get(pk=request.pk)
    if locked.status != ApprovalRequest.Status.PENDING:
        raise InvalidState(f"This request is already {locked.status}.")
    return locked


def _check_checker(actor: Any, request: ApprovalRequest, spec: registry.ApprovalAction) -> None:
    require_permission(actor, spec.permission)
    if actor is not None and actor.pk == request.requested_by_id:
        raise SameOperator()
    refuse_own(actor, spec.owners(request.payload))


def _finish(request: ApprovalRequest, *, actor: Any, status: str, reason: str, **fields: Any) -> ApprovalRequest:
    request.status = status
    request.decided_by = actor
    request.decision_reason = reason
    request.decided_at = timezone.now()
    for name, value in fields.items():
        setattr(request, name, value)
    request.save()
    audit_record(
        actor=actor,
        action=f"approval.{status}",
        target=request,
        reason=reason,
        data={
            "action": request.action,
            "summary": request.summary,
            "result": request.result,
            "failure_code": request.failure_code,
            "requested_by": str(request.requested_by_id),
        },
    )
    return request


def approval_approve(*, actor: Any, request: ApprovalRequest, reason: str = "") -> ApprovalRequest:
    """A second operator with the action's permission approves: the action runs now, in this
    transaction. If its service refuses (e.g. ``insufficient_funds``), the request ends ``failed``
    with that code and nothing else changes."""
    reason = clean_reason(reason, required=False)
    with transaction.atomic():
        request = _lock_pending(request)
        spec = _action(request.action)
        _check_checker(actor, request, spec)
        if request.created_at < timezone.now() - settings.APPROVAL_TTL:
            return _finish(
                request,
                actor=None,
                status=ApprovalRequest.Status.EXPIRED,
                reason=f"Not decided within {settings.APPROVAL_TTL}.",
            )
        try:
            with transaction.atomic():
                result = spec.run(actor=actor, payload=request.payload, reason=request.reason)
        except DomainError as error:
            return _finish(
                request,
                actor=actor,
                status=ApprovalRequest.Status.FAILED,
                reason=reason,
                failure_code=error.code,
                result={"detail": error.detail},
            )
        return _finish(request, actor=actor, status=ApprovalRequest.Status.APPROVED, reason=reason, result=result)


def approval_reject(*, actor: Any, request: ApprovalRequest, reason: str) -> ApprovalRequest:
    """A second operator refuses the request (reason required); nothing runs."""
    reason = clean_reason(reason, required=True)
    with transaction.atomic():
        request = _lock_pending(request)
        _check_checker(actor, request, _action(request.action))
        return _finish(request, actor=actor, status=ApprovalRequest.Status.REJECTED, reason=reason)


def approval_expire_stale(*, now: datetime | None = None) -> int:
    """Requests nobody decided within ``APPROVAL_TTL`` expire; returns how many."""
    cutoff = (now or timezone.now()) - settings.APPROVAL_TTL
    expired = 0
    for pk in list(
        ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    ):
        with transaction.atomic():
            request = (
                ApprovalRequest.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=ApprovalRequest.Status.PENDING)
                .first()
            )
            if request is None:
                continue
            _finish(
                request,
                actor=None,
                status=ApprovalRequest.Status.EXPIRED,
                reason=f"Not decided within {settings.APPROVAL_TTL}.",
            )
            expired += 1
    return expired
