"""Dual control (SPEC §12): operator actions that create or move money are requests that a second
operator approves. The mechanism lives here; each domain registers its actions in
``AppConfig.ready()`` (``registry.register``), and the kernel never imports a domain."""
