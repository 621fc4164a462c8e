"""The second factor's secrets, encrypted at rest (SPEC §13): django-otp's TOTP devices and static
(recovery) tokens move to users.AuthenticatorDevice and users.RecoveryCode, whose key and code columns
hold Fernet tokens under FIELD_ENCRYPTION_KEYS; the plain rows in django-otp's tables are deleted.
Sessions verified by an old device no longer count as verified: operators log in again."""

import django.db.models.deletion
import django_otp.plugins.otp_totp.models
import walletmanager.encrypted_fields
from django.conf import settings
from django.db import migrations, models


def move_devices(apps, schema_editor):
    """Copy every django-otp TOTP device and recovery code into the encrypted models, then delete the
    plain rows (the historical models' EncryptedTextField encrypts on save)."""
    OldTotp = apps.get_model("otp_totp", "TOTPDevice")
    OldStatic = apps.get_model("otp_static", "StaticDevice")
    OldToken = apps.get_model("otp_static", "StaticToken")
    Authenticator = apps.get_model("users", "AuthenticatorDevice")
    RecoveryDevice = apps.get_model("users", "RecoveryCodeDevice")
    RecoveryCode = apps.get_model("users", "RecoveryCode")
    shared = ("user_id", "name", "confirmed", "throttling_failure_timestamp", "throttling_failure_count", "created_at", "last_used_at")
    for old in OldTotp.objects.order_by("pk"):
        Authenticator.objects.create(
            **{field: getattr(old, field) for field in shared},
            key=old.key, step=old.step, t0=old.t0, digits=old.digits, tolerance=old.tolerance, drift=old.drift,
            last_t=old.last_t,
        )
    for old in OldStatic.objects.order_by("pk"):
        device = RecoveryDevice.objects.create(**{field: getattr(old, field) for field in shared})
        for token in OldToken.objects.filter(device_id=old.pk).order_by("pk"):
            RecoveryCode.objects.create(device=device, code=token.token)
    OldToken.objects.all().delete()
    OldStatic.objects.all().delete()
    OldTotp.objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('users', '0002_staff_lockout'),
        ('otp_totp', '0003_add_timestamps'),
        ('otp_static', '0003_add_timestamps'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuthenticatorDevice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The human-readable name of this device.', max_length=64)),
                ('confirmed', models.BooleanField(default=True, help_text='Is this device ready for use?')),
                ('throttling_failure_timestamp', models.DateTimeField(blank=True, default=None, help_text='A timestamp of the last failed verification attempt. Null if last attempt succeeded.', null=True)),
                ('throttling_failure_count', models.PositiveIntegerField(default=0, help_text='Number of successive failed attempts.')),
                ('created_at', models.DateTimeField(auto_now_add=True, help_text='The date and time when this device was initially created in the system.', null=True)),
                ('last_used_at', models.DateTimeField(blank=True, help_text='The most recent date and time this device was used.', null=True)),
                ('key', walletmanager.encrypted_fields.EncryptedTextField(default=django_otp.plugins.otp_totp.models.default_key, validators=[django_otp.plugins.otp_totp.models.key_validator])),
                ('step', models.PositiveSmallIntegerField(default=30)),
                ('t0', models.BigIntegerField(default=0)),
                ('digits', models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)),
                ('tolerance', models.PositiveSmallIntegerField(default=1)),
                ('drift', models.SmallIntegerField(default=0)),
                ('last_t', models.BigIntegerField(default=-1)),
                ('user', models.ForeignKey(help_text='The user that this device belongs to.', on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'authenticator app',
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='RecoveryCodeDevice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The human-readable name of this device.', max_length=64)),
                ('confirmed', models.BooleanField(default=True, help_text='Is this device ready for use?')),
                ('throttling_failure_timestamp', models.DateTimeField(blank=True, default=None, help_text='A timestamp of the last failed verification attempt. Null if last attempt succeeded.', null=True)),
                ('throttling_failure_count', models.PositiveIntegerField(default=0, help_text='Number of successive failed attempts.')),
                ('created_at', models.DateTimeField(auto_now_add=True, help_text='The date and time when this device was initially created in the system.', null=True)),
                ('last_used_at', models.DateTimeField(blank=True, help_text='The most recent date and time this device was used.', null=True)),
                ('user', models.ForeignKey(help_text='The user that this device belongs to.', on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'recovery codes',
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='RecoveryCode',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', walletmanager.encrypted_fields.EncryptedTextField()),
                ('device', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='codes', to='users.recoverycodedevice')),
            ],
        ),
        # Forwards only: moving the secrets back into plain columns is not something to automate.
        migrations.RunPython(move_devices, migrations.RunPython.noop),
    ]
