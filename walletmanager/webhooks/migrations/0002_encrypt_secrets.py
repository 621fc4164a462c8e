"""Webhook secrets are encrypted at rest (SPEC §13): the column becomes text holding a Fernet token
under FIELD_ENCRYPTION_KEYS, and every existing secret is encrypted in place (raw SQL: the model's
field would try to decrypt the plain values)."""

from django.db import migrations

import walletmanager.encrypted_fields


def encrypt_existing(apps, schema_editor):
    from walletmanager.encrypted_fields import encrypt

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        # A Fernet token starts with its version byte, 0x80: "gAAAAA" in base64. Plain secrets are "whsec_…".
        cursor.execute("SELECT id, secret FROM webhooks_webhookendpoint WHERE secret NOT LIKE 'gAAAAA%%'")
        rows = cursor.fetchall()
        for endpoint_id, secret in rows:
            cursor.execute(
                "UPDATE webhooks_webhookendpoint SET secret = %s WHERE id = %s", [encrypt(secret), endpoint_id]
            )


def decrypt_existing(apps, schema_editor):
    from walletmanager.encrypted_fields import decrypt

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, secret FROM webhooks_webhookendpoint WHERE secret LIKE 'gAAAAA%%'")
        for endpoint_id, token in cursor.fetchall():
            cursor.execute("UPDATE webhooks_webhookendpoint SET secret = %s WHERE id = %s", [decrypt(token), endpoint_id])


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret",
            field=walletmanager.encrypted_fields.EncryptedTextField(),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
