"""Domain signals of the wallets app, sent by ``wallets.services`` inside their database transaction
with ``instance`` (the wallet), ``actor``, ``reason`` and ``data``.

``wallet_created`` also carries ``balance_kind`` and ``currency``: the balances app opens the
wallet's balance in response, so wallets never imports balances."""

from django.dispatch import Signal

wallet_created = Signal()
wallet_updated = Signal()
wallet_blocked = Signal()
wallet_unblocked = Signal()
wallet_closed = Signal()
wallet_pin_locked = Signal()
