from django.contrib.auth import signals as auth_signals

from users import sessions, signals
from walletmanager.audit import audit_record, connect_audit_receivers

AUDITED = {
    signals.user_registered: "user.registered",
    signals.user_blocked: "user.blocked",
    signals.user_unblocked: "user.unblocked",
    signals.user_closed: "user.closed",
    signals.user_login_succeeded: "user.login",
    signals.user_logged_out: "user.logout",
    signals.user_account_locked: "user.account_locked",
    signals.user_account_unlocked: "user.account_unlocked",
    signals.user_privileges_changed: "user.privileges_changed",
    signals.user_totp_enrolled: "user.totp_enrolled",
}


def audit_login_failed(sender, *, instance, actor=None, reason="", data=None, **kwargs) -> None:
    # An unknown email has no user row to point at: the event names the submitted email in ``data``.
    audit_record(
        actor=actor, action="user.login_failed", target=instance, target_type="users.user", reason=reason, data=data
    )


def session_logged_out(sender, request, user, **kwargs) -> None:
    """Django's ``logout()`` (admin, browsable API, staff session timeout) becomes our audited logout."""
    if user is not None and getattr(user, "pk", None) is not None:
        signals.user_logged_out.send(
            sender=type(user),
            instance=user,
            actor=user,
            reason=getattr(request, "logout_reason", ""),
            data={"channel": "session"},
        )


def connect() -> None:
    connect_audit_receivers(AUDITED, app_label="users")
    signals.user_login_failed.connect(audit_login_failed, weak=False, dispatch_uid="audit:users:user.login_failed")
    auth_signals.user_logged_out.connect(session_logged_out, dispatch_uid="users.session_logged_out")
    auth_signals.user_logged_in.connect(sessions.session_started, dispatch_uid="users.staff_session_started")
