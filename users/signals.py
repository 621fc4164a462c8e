"""Domain signals of the users app. Sent by ``users.services`` inside their database transaction with
``instance`` (the user), ``actor``, ``reason`` and ``data`` (before/after)."""

from django.dispatch import Signal

user_registered = Signal()
user_blocked = Signal()
user_unblocked = Signal()
user_closed = Signal()
