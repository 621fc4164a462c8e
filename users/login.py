"""One login policy for every password entry point (SPEC §13): the API token login, the admin's
login form and the browsable API's session login all call ``login_verify``.

In order: the per-address and per-email throttles (429, not counted, not audited: throttled
requests are refused before anything is checked, so a flood cannot flood the audit trail); a staff
account's lockout; the password; the account's status; for staff, the second factor (TOTP or a
recovery code, django-otp). Every refusal after the throttles is a ``user.login_failed`` audit
event with the client IP and the reason; every success a ``user.login``.

The staff lockout is written here rather than taken from django-axes, because the rule does not
fit axes' model: §13 counts failures in a sliding 15-minute window and locks for 30 minutes, while
axes has one cool-off that is both window and lock; only staff accounts lock (a client's account
must not be lockable by anyone who knows its email), which axes would need a whitelist callable for
every client to express; a wrong TOTP code must count like a wrong password, which happens after
axes' authentication backend has already recorded a success; and the lock must answer 403
``account_locked`` through our error contract, not axes' middleware response. The failures it
counts are the append-only audit events themselves, so the trail and the lock cannot disagree.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user, match_token
from django_otp.models import Device

from users import selectors, signals
from users.exceptions import (
    AccountLocked,
    InvalidCredentials,
    InvalidOtp,
    LoginRefusedBlocked,
    LoginRefusedClosed,
    LoginThrottled,
    OtpRequired,
)
from users.models import User
from users.throttles import login_throttles

# "reenrol": the admin's page where an operator replaces their authenticator after a code from it.
CHANNELS = ("api", "admin", "session", "reenrol")
WRONG_PASSWORD = "wrong password"
WRONG_OTP = "wrong authenticator code"
# The failures that count towards a staff lockout; the others (unknown email, blocked account, a
# missing code after a right password, an attempt while locked) are audited but prove no guessing.
COUNTED_FAILURES = (WRONG_PASSWORD, WRONG_OTP)
NOT_ENROLLED = (
    "No authenticator is enrolled for this staff account: an administrator enrols one with "
    "`manage.py staff_totp <email>`."
)


def login_throttle_check(*, email: str, ip: str | None) -> None:
    """Count this attempt against its address and its email; 429 when either is over its rate."""
    waits = [throttle.wait() for throttle in login_throttles(email=email, ip=ip) if not throttle.allow()]
    if waits:
        raise LoginThrottled(retry_after=int(max(wait or 1 for wait in waits) + 0.999))


def login_verify(
    *,
    email: str,
    password: str,
    otp: str | None = None,
    ip: str | None,
    channel: str,
    staff_only: bool = False,
) -> tuple[User, Device | None]:
    """Apply the login policy; return the user and the second-factor device that verified them (staff).

    Wrong email and wrong password give the same error after the same password-hashing work; only
    with the right password is a blocked or closed user told so, or a staff user asked for a code.
    ``staff_only`` (the admin) refuses a client's right password like a wrong one.
    """
    login_throttle_check(email=email, ip=ip)
    user = selectors.user_get_by_email(email=email)
    if user is None:
        make_password(password)  # as costly as a real check: unknown emails answer as slowly as known ones
        _audit_failure(user=None, channel=channel, reason="unknown email", email=email)
        raise InvalidCredentials()
    if user.is_staff and user_locked_until(user=user) is not None:
        _audit_failure(user=user, channel=channel, reason="account locked")
        raise AccountLocked()
    if not user.check_password(password):
        _count_failure(user=user, channel=channel, reason=WRONG_PASSWORD)
        raise InvalidCredentials()
    if user.is_system or (staff_only and not user.is_staff):
        _audit_failure(user=user, channel=channel, reason="system user" if user.is_system else "not staff")
        raise InvalidCredentials()
    if user.status == User.Status.BLOCKED:
        _audit_failure(user=user, channel=channel, reason="user blocked")
        raise LoginRefusedBlocked()
    if user.status == User.Status.CLOSED:
        _audit_failure(user=user, channel=channel, reason="user closed")
        raise LoginRefusedClosed()
    device = _second_factor(user=user, otp=otp, channel=channel) if user.is_staff else None
    _record_success(user=user, channel=channel, device=device)
    return user, device


def reenrol_code_verify(*, user: User, code: str, ip: str | None) -> Device:
    """Check the code an operator types to replace their authenticator, as a login checks one: the
    same throttles (per address and per email, 429), the staff lockout (a wrong code counts as a
    failed login; ten lock the account for 30 minutes, 403), and the same audit events
    (``user.login_failed`` with channel ``reenrol``). Returns the device the code matched."""
    login_throttle_check(email=user.email, ip=ip)
    if user.is_staff and user_locked_until(user=user) is not None:
        _audit_failure(user=user, channel="reenrol", reason="account locked")
        raise AccountLocked()
    code = (code or "").strip().replace(" ", "")
    device = match_token(user, code) if code else None
    if device is None:
        _count_failure(user=user, channel="reenrol", reason=WRONG_OTP)
        raise InvalidOtp("The authenticator code is wrong or was already used.")
    return device


def user_locked_until(*, user: User, now: datetime | None = None) -> datetime | None:
    """When the account's lockout ends, or None when it is not locked."""
    now = now or timezone.now()
    return user.locked_until if user.locked_until is not None and user.locked_until > now else None


def _second_factor(*, user: User, otp: str | None, channel: str) -> Device:
    otp = (otp or "").strip().replace(" ", "")
    if not otp:
        # The password was right: worth a line in the trail, but not a guess to count.
        _audit_failure(user=user, channel=channel, reason="second factor missing")
        if not any(True for _ in devices_for_user(user)):
            raise OtpRequired(NOT_ENROLLED)
        raise OtpRequired()
    device = match_token(user, otp)
    if device is None:
        _count_failure(user=user, channel=channel, reason=WRONG_OTP)
        raise InvalidOtp()
    return device


def _audit_failure(*, user: User | None, channel: str, reason: str, email: str = "") -> None:
    data = {"channel": channel}
    if user is None:
        data["email"] = email.strip().lower()[:254]
    signals.user_login_failed.send(sender=User, instance=user, actor=None, reason=reason, data=data)


def _count_failure(*, user: User, channel: str, reason: str) -> None:
    """Audit a failed guess; on a staff account, lock it when the window holds enough of them.

    The user row is locked while counting, so parallel guesses are counted one after the other and
    exactly one of them locks the account."""
    locked = False
    with transaction.atomic():
        user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        _audit_failure(user=user, channel=channel, reason=reason)
        if not user.is_staff or user_locked_until(user=user) is not None:
            locked = user.is_staff
        else:
            now = timezone.now()
            since = now - settings.STAFF_LOCKOUT_WINDOW
            if user.login_failures_since is not None:
                since = max(since, user.login_failures_since)
            failures = selectors.user_login_failures_since(user=user, since=since, reasons=COUNTED_FAILURES)
            if failures >= settings.STAFF_LOCKOUT_FAILURES:
                user.locked_until = now + settings.STAFF_LOCKOUT_DURATION
                user.login_failures_since = now
                user.save(update_fields=["locked_until", "login_failures_since"])
                minutes = int(settings.STAFF_LOCKOUT_WINDOW.total_seconds() // 60)
                signals.user_account_locked.send(
                    sender=User,
                    instance=user,
                    actor=None,
                    reason=f"{failures} failed logins within {minutes} minutes",
                    data={"channel": channel, "after": {"locked_until": user.locked_until.isoformat()}},
                )
                locked = True
    if locked:
        raise AccountLocked()


def _record_success(*, user: User, channel: str, device: Device | None) -> None:
    now = timezone.now()
    with transaction.atomic():
        user.last_login = now
        user.login_failures_since = now  # a login ends a run of failures
        user.save(update_fields=["last_login", "login_failures_since"])
        data = {"channel": channel}
        if device is not None:
            data["second_factor"] = "recovery code" if device._meta.model_name == "recoverycodedevice" else "totp"
        signals.user_login_succeeded.send(sender=User, instance=user, actor=user, data=data)
