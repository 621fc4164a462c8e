from users import signals
from walletmanager.audit import connect_audit_receivers

AUDITED = {
    signals.user_registered: "user.registered",
    signals.user_blocked: "user.blocked",
    signals.user_unblocked: "user.unblocked",
    signals.user_closed: "user.closed",
}


def connect() -> None:
    connect_audit_receivers(AUDITED, app_label="users")
