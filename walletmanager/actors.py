"""Who is acting, and the reason they give: shared by every app's services."""

from __future__ import annotations

from typing import Any

from walletmanager.exceptions import PermissionDeniedError, ValidationFailed

REASON_MAX_LENGTH = 1000


def is_staff_user(user: Any) -> bool:
    """A person who is a staff operator. Never true of ``None`` or an anonymous user: reads use this
    (what may this person see?)."""
    return bool(getattr(user, "is_staff", False))


def acts_as_staff(actor: Any) -> bool:
    """Staff operators, and ``None`` — the system itself (management commands, scheduled jobs):
    writes use this (may this actor exercise staff powers?)."""
    return actor is None or is_staff_user(actor)


def require_staff(actor: Any, *, detail: str = "Only staff may do this.") -> None:
    if not acts_as_staff(actor):
        raise PermissionDeniedError(detail)


def clean_reason(reason: str | None, *, required: bool) -> str:
    """The reason an operator gives for an action: trimmed, required where the spec says so, bounded."""
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationFailed("A reason is required.", field="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed(f"At most {REASON_MAX_LENGTH} characters.", field="reason")
    return reason


def require_permission(actor: Any, permission: str, *, detail: str | None = None) -> None:
    """Staff holding ``permission`` (``app_label.codename``; superusers hold all), or the system
    (``None``: management commands and scheduled jobs). The one permission model of the services:
    the API and the admin ask for the same permission before calling them."""
    if actor is None:
        return
    if not (is_staff_user(actor) and actor.has_perm(permission)):
        raise PermissionDeniedError(detail or f"Only staff with the {permission} permission may do this.")


def refuse_own(actor: Any, owner_ids) -> None:
    """Refuse an operator's decision on money in a wallet they own (SPEC §12)."""
    from walletmanager.exceptions import OwnWallet

    if actor is not None and getattr(actor, "pk", None) in set(owner_ids):
        raise OwnWallet()
