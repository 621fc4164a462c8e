"""Domain signals of the wallets app, sent by ``wallets.services`` inside their database transaction
with ``instance`` (the wallet), ``actor``, ``reason`` and ``data``.

The balance of a new wallet is not opened in response to ``wallet_created``: it is a required step
that ``wallet_create`` calls itself (``register_balance_steps``)."""

from django.dispatch import Signal

wallet_created = Signal()
wallet_updated = Signal()
wallet_blocked = Signal()
wallet_unblocked = Signal()
wallet_closed = Signal()
wallet_pin_locked = Signal()
