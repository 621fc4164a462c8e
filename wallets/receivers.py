from wallets import signals
from walletmanager.audit import connect_audit_receivers

AUDITED = {
    signals.wallet_created: "wallet.created",
    signals.wallet_updated: "wallet.updated",
    signals.wallet_blocked: "wallet.blocked",
    signals.wallet_unblocked: "wallet.unblocked",
    signals.wallet_closed: "wallet.closed",
    signals.wallet_pin_locked: "wallet.pin_locked",
}


def connect() -> None:
    connect_audit_receivers(AUDITED, app_label="wallets")
