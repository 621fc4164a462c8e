"""Domain signals of the balances app, sent inside the database transaction of the change with
``instance`` (the balance), ``actor``, ``reason`` and ``data``."""

from django.dispatch import Signal

balance_frozen = Signal()
balance_unfrozen = Signal()

# Currencies (SPEC §13): ``instance`` is the currency, ``data`` its fields before and after.
currency_created = Signal()
currency_changed = Signal()
