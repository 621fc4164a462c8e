"""``flush`` as the schema owner, the only role that may empty the ledger's tables, and only after
saying so (``walletmanager.allow_truncate``, checked by the tables' BEFORE TRUNCATE guards). The test
suite flushes the database after every transactional test; in production nobody should.

Procrastinate's tables are not Django's models, so Django's own flush would leave the job queue: jobs
about rows that no longer exist, run by the next worker (or by the next test). They are emptied with
the rest, in the same statement list, only when the flush goes ahead."""

from django.core.management.commands import flush
from django.db import connections

JOB_TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs", "procrastinate_workers")


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        with connection.as_owner():  # the session, and its setting, end with the block
            with connection.cursor() as cursor:
                cursor.execute("SET walletmanager.allow_truncate = on")
            existing = set(connection.introspection.table_names())
            jobs = [table for table in JOB_TABLES if table in existing]
            execute_sql_flush = connection.ops.execute_sql_flush

            def flush_with_the_job_queue(sql_list):
                truncate_jobs = [f"TRUNCATE {', '.join(jobs)};"] if jobs and sql_list else []
                return execute_sql_flush(list(sql_list) + truncate_jobs)

            connection.ops.execute_sql_flush = flush_with_the_job_queue
            try:
                return super().handle(**options)
            finally:
                del connection.ops.execute_sql_flush  # back to the class's own method
