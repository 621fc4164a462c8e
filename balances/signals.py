"""Domain signals of the balances app, sent inside the database transaction of the change with
``instance`` (the balance), ``actor``, ``reason`` and ``data``."""

from django.dispatch import Signal

balance_frozen = Signal()
balance_unfrozen = Signal()
