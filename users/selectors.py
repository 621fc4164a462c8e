"""Reads of the users app used by views, the admin and commands. Each returns a QuerySet or one user."""

from __future__ import annotations

from django.db.models import QuerySet

from users.exceptions import CannotBlockStaff
from users.models import AuthenticatorDevice, User
from walletmanager.exceptions import NotFoundError
from walletmanager.models import AuditEvent


def user_list_for_staff() -> QuerySet[User]:
    """Every person staff may act on; the system user (owner of the system wallets) is not one of them."""
    return User.objects.filter(is_system=False)


def user_get_by_email(*, email: str) -> User | None:
    """The user with this email, compared case-insensitively (emails are stored lower-cased)."""
    return User.objects.filter(email=email.strip().lower()).first()


def user_get_by_email_or_error(*, email: str) -> User:
    user = user_get_by_email(email=email)
    if user is None or user.is_system:
        raise NotFoundError(f"No user with email {email.strip().lower()!r}.", code="user_not_found")
    return user


def user_command_actor(*, by: str | None, user: User) -> User | None:
    """Whom a shell command that blocks or unblocks ``user`` acts as: the system for a client; for a
    staff member the operator ``--by`` names, so the API's rule holds (only a superuser acts on staff)."""
    if by:
        return user_get_by_email_or_error(email=by)
    if user.is_staff:
        raise CannotBlockStaff("Only a superuser blocks or unblocks staff: name yourself with --by SUPERUSER_EMAIL.")
    return None


def user_has_open_wallets(*, user: User) -> bool:
    # The wallets app sits above users (users <- wallets), so it is reached through the reverse
    # relation of Wallet.owner instead of an import; "closed" is Wallet.Status.CLOSED.
    return user.wallets.exclude(status="closed").exists()


def user_login_failures_since(*, user: User, since, reasons: tuple[str, ...]) -> int:
    """How many of the user's failed logins with one of ``reasons`` the audit trail holds since ``since``."""
    return AuditEvent.objects.filter(
        action="user.login_failed",
        target_type="users.user",
        target_id=str(user.pk),
        created_at__gte=since,
        reason__in=reasons,
    ).count()


def user_is_enrolled_in_totp(*, user: User) -> bool:
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()
