from django.db import migrations

REFUSE_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION walletmanager_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    """Audit events are append-only in the database itself, whatever code or admin tries."""

    dependencies = [("walletmanager", "0001_initial")]

    operations = [
        migrations.RunSQL(
            REFUSE_CHANGE_FUNCTION
            + """
            CREATE TRIGGER auditevent_append_only
                BEFORE UPDATE OR DELETE ON walletmanager_auditevent
                FOR EACH ROW EXECUTE FUNCTION walletmanager_refuse_change();
            """,
            reverse_sql="""
            DROP TRIGGER IF EXISTS auditevent_append_only ON walletmanager_auditevent;
            DROP FUNCTION IF EXISTS walletmanager_refuse_change();
            """,
        ),
    ]
