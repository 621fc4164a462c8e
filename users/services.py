"""Every write of the users app: registration, login tokens, profile, block / unblock / close.

State changes follow one shape: keyword-only ``actor``, a permission check, ``transaction.atomic()``
with the user row locked, an early return when the user is already in the target state, and one
domain signal (hence one audit event) sent inside the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, password_validation
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from knox.models import AuthToken

from users import login, selectors, signals
from users.exceptions import (
    CannotBlockSelf,
    CannotBlockStaff,
    UserHasOpenWallets,
)
from users.models import User
from walletmanager.actors import require_permission
from walletmanager.exceptions import InvalidState, PermissionDeniedError, ValidationFailed

BLOCK_PERMISSION = "users.block_user"
ADD_PERMISSION = "users.add_user"


def _snapshot(user: User) -> dict[str, Any]:
    return {
        "status": user.status,
        "block_reason": user.block_reason,
        "blocked_at": user.blocked_at.isoformat() if user.blocked_at else None,
        "closed_at": user.closed_at.isoformat() if user.closed_at else None,
    }


def _email_taken(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


def user_create(
    *,
    actor: User | None,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    role: str = User.Role.CLIENT,
) -> User:
    """Create an ``active`` user. The email must be free case-insensitively; the password must pass
    every configured validator, including similarity to the email and names. An operator creating
    one (the admin) needs ``users.add_user``, and only a superuser creates staff; ``actor=None`` is
    self-service sign-up or the system."""
    if actor is not None:
        require_permission(actor, ADD_PERMISSION, detail="Only staff with the users.add_user permission may add users.")
        if role != User.Role.CLIENT and not actor.is_superuser:
            raise PermissionDeniedError("Only a superuser may change roles, groups and permissions.")
    if role not in User.Role.values:
        raise ValidationFailed(f"Choose one of: {', '.join(User.Role.values)}.", field="role")
    email = User.objects.normalize_email((email or "").strip()).lower()
    user = User(
        email=email,
        first_name=(first_name or "").strip(),
        last_name=(last_name or "").strip(),
        role=role,
        status=User.Status.ACTIVE,
    )
    try:
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise ValidationFailed.from_django(error) from None
    if _email_taken(email):
        raise ValidationFailed("A user with this email already exists.", field="email", code="email_taken")
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as error:
        raise ValidationFailed(" ".join(error.messages), field="password") from None
    user.set_password(password)

    try:
        with transaction.atomic():
            user.save()
            signals.user_registered.send(
                sender=User, instance=user, actor=actor, reason="", data={"after": {"email": email, "role": role}}
            )
    except IntegrityError:
        # Two registrations of one email at the same moment: the unique index decides, the loser gets a 400.
        if _email_taken(email):
            raise ValidationFailed(
                "A user with this email already exists.", field="email", code="email_taken"
            ) from None
        raise
    return user


def user_register(*, email: str, password: str, first_name: str, last_name: str) -> User:
    """Self-service sign-up: always an ``active`` client, whatever else the request carried."""
    return user_create(
        actor=None, email=email, password=password, first_name=first_name, last_name=last_name, role=User.Role.CLIENT
    )


def user_login(*, email: str, password: str, otp: str | None = None, ip: str | None = None) -> tuple[AuthToken, str]:
    """Apply the login policy (``users.login``) and issue an API token: ``STAFF_TOKEN_TTL`` for
    staff, ``TOKEN_TTL`` for clients."""
    user, _ = login.login_verify(email=email, password=password, otp=otp, ip=ip, channel="api")
    ttl = settings.STAFF_TOKEN_TTL if user.is_staff else settings.TOKEN_TTL
    return AuthToken.objects.create(user, expiry=ttl)


def auth_token_revoke(*, token: AuthToken) -> None:
    """Log out one API token."""
    with transaction.atomic():
        user = token.user
        token.delete()
        signals.user_logged_out.send(sender=User, instance=user, actor=user, data={"channel": "api"})


def auth_token_purge_expired(*, now=None) -> int:
    """Delete the API tokens past their expiry (they no longer authenticate anyway); the number deleted."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=now or timezone.now()).delete()
    return deleted


def user_update_profile(*, user: User, first_name: str | None = None, last_name: str | None = None) -> User:
    """A user may change their own names (letters, spaces, ``-`` and ``'``; 1–150 characters)."""
    changed = []
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not None and value.strip() != getattr(user, field):
            setattr(user, field, value.strip())
            changed.append(field)
    if not changed:
        return user
    try:
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        user.refresh_from_db(fields=changed)
        raise ValidationFailed.from_django(error) from None
    user.save(update_fields=changed)
    return user


def check_may_change_status(*, actor: User | None, user: User) -> None:
    """Operators need ``users.block_user``; nobody acts on themselves; only a superuser acts on staff.

    ``actor`` None is the system (management commands run by an ops engineer with shell access).
    """
    if user.is_system:
        raise InvalidState("The system user cannot be blocked, unblocked or closed.")
    if actor is None:
        return
    if not actor.has_perm(BLOCK_PERMISSION):
        raise PermissionDeniedError("You may not block, unblock or close users.")
    if actor.pk == user.pk:
        raise CannotBlockSelf()
    if user.is_staff and not actor.is_superuser:
        raise CannotBlockStaff()


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("A reason is required.", field="reason")
    return reason


def _locked(user: User) -> User:
    # Conflicts with the share lock every movement takes on its wallets' owners: a block waits for
    # movements in flight, and a movement that starts after it reads the new status.
    return User.objects.select_for_update(no_key=True).get(pk=user.pk)


def _revoke_access(user: User) -> None:
    """End every way the user is logged in: API tokens now (inside the transaction), sessions after commit."""
    AuthToken.objects.filter(user=user).delete()
    user_id = str(user.pk)
    transaction.on_commit(lambda: _end_sessions(user_id=user_id))


def _end_sessions(*, user_id: str) -> None:
    # Django's database sessions are not indexed by user, so the live ones are decoded one by one. A
    # blocked user's session already stops authenticating (``is_active`` is False); deleting it makes
    # sure it does not come back to life if the user is unblocked.
    now = timezone.now()
    for session in Session.objects.filter(expire_date__gt=now).iterator():
        if session.get_decoded().get(SESSION_KEY) == user_id:
            session.delete()


def _apply(user: User, *, status: str, blocked_at: datetime | None, block_reason: str, closed_at=None) -> None:
    user.status = status
    user.blocked_at = blocked_at
    user.block_reason = block_reason
    fields = ["status", "blocked_at", "block_reason"]
    if closed_at is not None:
        user.closed_at = closed_at
        fields.append("closed_at")
    user.save(update_fields=fields)


def user_block(*, actor: User | None, user: User, reason: str) -> User:
    """Block a user (reason required): they cannot log in and their tokens and sessions end at once.

    Staff cannot block themselves and only a superuser blocks staff; blocking a blocked user is a
    no-op, blocking a closed one is refused (409 ``invalid_state``).
    """
    reason = _require_reason(reason)
    check_may_change_status(actor=actor, user=user)
    with transaction.atomic():
        user = _locked(user)
        if user.status == User.Status.BLOCKED:
            return user
        if user.status == User.Status.CLOSED:
            raise InvalidState("A closed user cannot be blocked.")
        before = _snapshot(user)
        _apply(user, status=User.Status.BLOCKED, blocked_at=timezone.now(), block_reason=reason)
        _revoke_access(user)
        signals.user_blocked.send(
            sender=User, instance=user, actor=actor, reason=reason, data={"before": before, "after": _snapshot(user)}
        )
    return user


def user_unblock(*, actor: User | None, user: User, reason: str = "") -> User:
    """Restore a blocked user to ``active``; an active user is left as is, a closed one stays closed (409)."""
    reason = (reason or "").strip()
    check_may_change_status(actor=actor, user=user)
    with transaction.atomic():
        user = _locked(user)
        if user.status == User.Status.ACTIVE:
            return user
        if user.status == User.Status.CLOSED:
            raise InvalidState("A closed user cannot be unblocked.")
        before = _snapshot(user)
        _apply(user, status=User.Status.ACTIVE, blocked_at=None, block_reason="")
        signals.user_unblocked.send(
            sender=User, instance=user, actor=actor, reason=reason, data={"before": before, "after": _snapshot(user)}
        )
    return user


def user_close(*, actor: User | None, user: User, reason: str) -> User:
    """Close a user for good (reason required), only once every wallet of theirs is closed (else 409
    ``user_has_open_wallets``). The email stays taken and the user can never log in again."""
    reason = _require_reason(reason)
    check_may_change_status(actor=actor, user=user)
    with transaction.atomic():
        user = _locked(user)
        if user.status == User.Status.CLOSED:
            return user
        if selectors.user_has_open_wallets(user=user):
            raise UserHasOpenWallets()
        before = _snapshot(user)
        _apply(
            user,
            status=User.Status.CLOSED,
            blocked_at=user.blocked_at,
            block_reason=user.block_reason,
            closed_at=timezone.now(),
        )
        _revoke_access(user)
        signals.user_closed.send(
            sender=User, instance=user, actor=actor, reason=reason, data={"before": before, "after": _snapshot(user)}
        )
    return user


# --- staff access (SPEC §13) ------------------------------------------------------------------------


def user_unlock(*, actor: User | None, user: User, reason: str = "") -> User:
    """Lift a staff lockout (``unlock_user``, the admin action); the failures before it stop counting.
    Unlocking an account that is not locked is a no-op; only a superuser acts on staff."""
    check_may_change_status(actor=actor, user=user)
    with transaction.atomic():
        user = _locked(user)
        locked_until = login.user_locked_until(user=user)
        if locked_until is None:
            return user
        user.locked_until = None
        user.login_failures_since = timezone.now()
        user.save(update_fields=["locked_until", "login_failures_since"])
        signals.user_account_unlocked.send(
            sender=User,
            instance=user,
            actor=actor,
            reason=(reason or "").strip(),
            data={"before": {"locked_until": locked_until.isoformat()}, "after": {"locked_until": None}},
        )
    return user


def _privileges(user: User) -> dict[str, Any]:
    return {
        "role": user.role,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "permissions": sorted(
            f"{app_label}.{codename}"
            for app_label, codename in user.user_permissions.values_list("content_type__app_label", "codename")
        ),
    }


def user_set_privileges(
    *,
    actor: User | None,
    user: User,
    role: str,
    is_superuser: bool,
    groups: Iterable[Group],
    permissions: Iterable[Permission],
) -> User:
    """Set what a user may do: role (``admin`` makes them staff), the superuser flag, groups and
    direct permissions. Only a superuser (or the system) grants power; a superuser is always staff.
    One ``user.privileges_changed`` audit event with before/after; nothing changed, no event.

    A change ends every session and revokes every API token of the user in the same database
    transaction (SPEC §13): a client's token never becomes a staff token that skipped the second
    factor, and a demoted operator keeps no staff session."""
    if actor is not None and not actor.is_superuser:
        raise PermissionDeniedError("Only a superuser may change roles, groups and permissions.")
    if role not in User.Role.values:
        raise ValidationFailed(f"Choose one of: {', '.join(User.Role.values)}.", field="role")
    if is_superuser and role != User.Role.ADMIN:
        raise ValidationFailed("A superuser must have the admin role.", field="is_superuser")
    if user.is_system:
        raise InvalidState("The system user has no role to change.")
    groups, permissions = list(groups), list(permissions)
    with transaction.atomic():
        user = _locked(user)
        before = _privileges(user)
        user.role = role
        user.is_superuser = is_superuser
        user.save(update_fields=["role", "is_superuser"])
        user.groups.set(groups)
        user.user_permissions.set(permissions)
        after = _privileges(user)
        if after != before:
            AuthToken.objects.filter(user=user).delete()
            _end_sessions(user_id=str(user.pk))
            signals.user_privileges_changed.send(
                sender=User, instance=user, actor=actor, data={"before": before, "after": after}
            )
    return user
