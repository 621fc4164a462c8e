from transactions import signals
from walletmanager.audit import connect_audit_receivers
from walletmanager.webhooks.registry import register_event_types

# A movement's own events (made, resolved, reversed) are written by the ledger's functions with the
# movement itself (``sql/0014_ledger_move.sql``); these are the others.
AUDITED = {
    signals.exchange_rate_created: "exchange_rate.created",
    signals.fee_rule_created: "fee_rule.created",
    signals.fee_rule_changed: "fee_rule.changed",
}


# What clients may be told (SPEC §15): a deposit's events are deposit.*, every other kind's
# transaction.*. The ledger's functions write these to the outbox in the statement that makes the
# change (``ledger.publish``, ``sql/0013_ledger_door.sql``), rendered as ``TransactionSerializer``
# renders a transaction for its client (never the staff's reason, never the balance after it).
EVENT_TYPES = {
    "transaction.pending": "A withdrawal waits for an operator's approval (its amount is held).",
    "transaction.posted": "A transfer, exchange, withdrawal, adjustment or reversal moved money.",
    "transaction.rejected": "An operator rejected a pending withdrawal; the hold is released.",
    "transaction.cancelled": "The client cancelled a pending withdrawal; the hold is released.",
    "transaction.expired": "A pending withdrawal waited past HOLD_TTL; the hold is released.",
    "transaction.reversed": "A posted transaction was reversed (the reversal is its own transaction.posted).",
    "deposit.pending": "A deposit was asked for; it waits for the money (quote its reference).",
    "deposit.posted": "The money arrived and was credited.",
    "deposit.rejected": "The payment failed or an operator rejected the deposit.",
    "deposit.expired": "No money arrived within DEPOSIT_TTL.",
    "deposit.reversed": "A posted deposit was reversed.",
}


def connect() -> None:
    connect_audit_receivers(AUDITED, app_label="transactions")
    register_event_types(EVENT_TYPES)
