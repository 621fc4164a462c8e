"""Domain signals of the users app. Sent by ``users.services`` inside their database transaction with
``instance`` (the user), ``actor``, ``reason`` and ``data`` (before/after).

The login signals (``users.login``) are sent for every password entry point: API token, admin and
browsable-API session. ``user_login_failed`` may carry ``instance=None`` (an unknown email)."""

from django.dispatch import Signal

user_registered = Signal()
user_blocked = Signal()
user_unblocked = Signal()
user_closed = Signal()
user_login_succeeded = Signal()
user_login_failed = Signal()
user_logged_out = Signal()
user_account_locked = Signal()
user_account_unlocked = Signal()
user_privileges_changed = Signal()
user_totp_enrolled = Signal()
