"""``migrate`` as the schema owner (``DATABASE_MIGRATION_URL``); the runtime role may not change the
schema. After it, the runtime role's privileges are granted afresh (``walletmanager.database.roles``)."""

from django.core.management.commands import migrate
from django.db import connections


class Command(migrate.Command):
    def handle(self, *args, **options):
        connection = connections[options["database"]]
        with connection.as_owner():
            return super().handle(*args, **options)
