"""System checks of the kernel (``manage.py check``)."""

from __future__ import annotations

from django.core import checks
from django.db import connections


@checks.register(checks.Tags.database, deploy=True)
def check_two_database_roles(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """SPEC §14: the application must not run as the role that owns the schema, or nothing keeps it
    from rewriting positions, entries and audit events, truncating or disabling triggers."""
    connection = connections["default"]
    if getattr(connection, "has_owner_role", False):
        return []
    return [
        checks.Warning(
            "The application connects as the role that runs the migrations: it could rewrite the ledger.",
            hint="Set DATABASE_MIGRATION_URL to the schema owner and DATABASE_URL to a runtime role of its own "
            "(README, 'Database roles').",
            id="walletmanager.W001",
        )
    ]
