from django.db import migrations

from walletmanager.database.sql_files import sql_file


class Migration(migrations.Migration):
    """A wallet's balance is opened by ``ledger.balance_open`` (SPEC §16)."""

    dependencies = [
        ("balances", "0006_velocity_limits"),
        ("walletmanager", "0004_ledger_schema"),
    ]

    operations = [
        sql_file(__file__, "0007_balance_open.sql", reverse_sql="DROP FUNCTION IF EXISTS ledger.balance_open(uuid, text, text);")
    ]
