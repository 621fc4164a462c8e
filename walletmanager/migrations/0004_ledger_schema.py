from django.db import migrations

from walletmanager.database.sql_files import sql_file

REVERSE_SQL = """
DROP FUNCTION IF EXISTS ledger.audit_seal_append(bigint, bigint, integer, text, text);
DROP FUNCTION IF EXISTS ledger.audit_append(bigint, text, text, text, text, jsonb, inet);
"""


class Migration(migrations.Migration):
    """The ``ledger`` schema, the audit trail's writer functions, TEMP revoked (SPEC §16)."""

    dependencies = [("walletmanager", "0003_auditseal")]

    operations = [sql_file(__file__, "0004_ledger_schema.sql", reverse_sql=REVERSE_SQL)]
