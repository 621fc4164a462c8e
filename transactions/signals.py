"""Domain signals of the transactions app, sent by ``transactions.services`` inside the database
transaction that writes the change, with ``instance`` (the transaction), ``actor``, ``reason`` and
``data``, and the audit action each one records."""

from django.dispatch import Signal

transaction_posted = Signal()
transaction_pending = Signal()
transaction_rejected = Signal()
transaction_cancelled = Signal()
transaction_expired = Signal()
transaction_reversed = Signal()

# What prices money (SPEC §13): ``instance`` is the rate or fee rule, ``data`` its fields before/after.
exchange_rate_created = Signal()
fee_rule_created = Signal()
fee_rule_changed = Signal()


class TransactionAuditAction:
    """A transaction's audit action, named for what happened to which kind: ``transfer.posted``,
    ``withdrawal.requested``, ``withdrawal.approved`` (a pending one posted by an operator),
    ``deposit.confirmed`` (by Finance) or ``deposit.settled`` (by the provider's callback),
    ``withdrawal.rejected``, ``deposit.expired``, ``transfer.reversed``…"""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome

    def __str__(self) -> str:
        return f"transaction.{self.outcome}"

    def __call__(self, transaction, actor) -> str:
        from transactions.models import Transaction

        kind = transaction.kind
        if self.outcome == "pending":
            return f"{kind}.requested"
        if self.outcome == "posted" and transaction.resolved_at is not None:  # it waited, someone decided
            if kind == Transaction.Kind.WITHDRAWAL:
                return "withdrawal.approved"
            if kind == Transaction.Kind.DEPOSIT:
                return "deposit.confirmed" if actor is not None else "deposit.settled"
        return f"{kind}.{self.outcome}"


# The signals a movement sends as it is written (``services._finish``): the posting function writes
# their audit event in the same statement as the movement, named by these.
MOVEMENT_ACTIONS = {
    transaction_posted: TransactionAuditAction("posted"),
    transaction_pending: TransactionAuditAction("pending"),
    transaction_rejected: TransactionAuditAction("rejected"),
    transaction_cancelled: TransactionAuditAction("cancelled"),
    transaction_expired: TransactionAuditAction("expired"),
}
