from django.db import migrations

from walletmanager.database.sql_files import sql_file

REVERSE_SQL = """
DROP FUNCTION IF EXISTS ledger.publish(transactions_transaction, text);
DROP FUNCTION IF EXISTS ledger.defer_job(text, text, jsonb);
DROP FUNCTION IF EXISTS ledger.transaction_json(transactions_transaction);
DROP FUNCTION IF EXISTS ledger.format_time(timestamptz);
DROP FUNCTION IF EXISTS ledger.format_number(numeric);
DROP FUNCTION IF EXISTS ledger.format_amount(numeric, integer);
DROP FUNCTION IF EXISTS ledger.lock_assets(uuid[], text[]);
"""


class Migration(migrations.Migration):
    """The ``ledger`` schema's helpers and asset lock, and every trigger function of the ledger with an
    empty search_path and qualified names (SPEC §16)."""

    dependencies = [
        ("transactions", "0012_posting_functions"),
        ("balances", "0007_balance_open"),
        ("walletmanager", "0004_ledger_schema"),
    ]

    operations = [sql_file(__file__, "0013_ledger_door.sql", reverse_sql=REVERSE_SQL)]
