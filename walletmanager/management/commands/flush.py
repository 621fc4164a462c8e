"""``flush`` as the schema owner, the only role that may empty the ledger's tables, and only after
saying so (``walletmanager.allow_truncate``, checked by the tables' BEFORE TRUNCATE guards). The test
suite flushes the database after every transactional test; in production nobody should."""

from django.core.management.commands import flush
from django.db import connections


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        with connection.as_owner():  # the session, and its setting, end with the block
            with connection.cursor() as cursor:
                cursor.execute("SET walletmanager.allow_truncate = on")
            return super().handle(**options)
