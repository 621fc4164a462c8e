from balances import signals
from walletmanager.audit import connect_audit_receivers

AUDITED = {
    signals.balance_frozen: "balance.frozen",
    signals.balance_unfrozen: "balance.unfrozen",
}


def connect() -> None:
    connect_audit_receivers(AUDITED, app_label="balances")
