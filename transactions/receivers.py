from transactions import signals
from walletmanager.audit import connect_audit_receivers

AUDITED = {
    signals.transaction_posted: "transaction.posted",
    signals.transaction_pending: "transaction.pending",
    signals.transaction_rejected: "transaction.rejected",
    signals.transaction_cancelled: "transaction.cancelled",
    signals.transaction_expired: "transaction.expired",
    signals.transaction_reversed: "transaction.reversed",
    signals.exchange_rate_created: "exchange_rate.created",
    signals.fee_rule_created: "fee_rule.created",
    signals.fee_rule_changed: "fee_rule.changed",
}


def connect() -> None:
    connect_audit_receivers(AUDITED, app_label="transactions")
