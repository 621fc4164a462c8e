"""Domain signals of the transactions app, sent by ``transactions.services`` inside the database
transaction that writes the change, with ``instance`` (the transaction), ``actor``, ``reason`` and ``data``."""

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
