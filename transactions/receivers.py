from transactions import signals
from walletmanager.audit import connect_audit_receivers
from walletmanager.webhooks.publishing import connect_publishers

# A movement's own event (posted, pending, rejected, cancelled, expired: ``signals.MOVEMENT_ACTIONS``)
# is written by the ledger's posting function with the movement itself; these are the others.
AUDITED = {
    signals.transaction_reversed: signals.TransactionAuditAction("reversed"),
    signals.exchange_rate_created: "exchange_rate.created",
    signals.fee_rule_created: "fee_rule.created",
    signals.fee_rule_changed: "fee_rule.changed",
}


# What clients may be told (SPEC §15): a deposit's events are deposit.*, every other kind's transaction.*.
PUBLISHED = {
    signals.transaction_pending: "pending",
    signals.transaction_posted: "posted",
    signals.transaction_rejected: "rejected",
    signals.transaction_cancelled: "cancelled",
    signals.transaction_expired: "expired",
    signals.transaction_reversed: "reversed",
}
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


def publish_transaction_event(transaction, status: str) -> None:
    """The client's view of the transaction, to the owners of both wallets it touches. Never the
    staff's reason, nor the balance after (a recipient must not learn the sender's balance)."""
    from transactions.models import Transaction
    from transactions.serializers import TransactionSerializer
    from walletmanager.webhooks.services import event_publish

    def render() -> dict:
        data = dict(TransactionSerializer(transaction).data)
        data.pop("balance_after", None)
        return data

    family = "deposit" if transaction.kind == Transaction.Kind.DEPOSIT else "transaction"
    event_publish(type=f"{family}.{status}", render=render, owner_ids=_owner_ids(transaction))


def _owner_ids(transaction) -> list:
    """The owners of the wallets a transaction touches, from the wallets the movement already loaded
    (a query only for one it did not)."""
    from wallets.models import Wallet

    owners, unloaded = [], []
    for field in ("wallet", "to_wallet"):
        if getattr(transaction, f"{field}_id") is None:
            continue
        if transaction._meta.get_field(field).is_cached(transaction):
            owners.append(getattr(transaction, field).owner_id)
        else:
            unloaded.append(getattr(transaction, f"{field}_id"))
    if unloaded:
        owners.extend(Wallet.objects.filter(pk__in=unloaded).values_list("owner_id", flat=True))
    return owners


def connect() -> None:
    connect_audit_receivers(AUDITED, app_label="transactions")
    connect_publishers(PUBLISHED, publish=publish_transaction_event, app_label="transactions", event_types=EVENT_TYPES)
