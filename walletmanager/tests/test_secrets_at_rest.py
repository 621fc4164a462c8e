"""TOTP keys, recovery codes and webhook secrets are encrypted at rest under a key from the
environment (SPEC §13): a database dump alone does not give them, the webhook signature and TOTP
still verify, keys rotate, and production refuses to start without a key of its own."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from users.models import AuthenticatorDevice, RecoveryCode
from users.tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from users.two_factor import totp_secret, user_totp_enrol
from walletmanager.webhooks import signing
from walletmanager.webhooks.models import WebhookEndpoint
from walletmanager.webhooks.services import webhook_endpoint_create

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def column(table: str, name: str, pk) -> str:
    """What a database dump holds: the raw column, read with SQL."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {name} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - test-only names
        return cursor.fetchone()[0]


def test_a_webhook_secret_is_not_in_its_row_and_deliveries_still_verify(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    owner = UserFactory()
    endpoint = webhook_endpoint_create(actor=owner, url="http://127.0.0.1:9/hook", events=["*"])
    shown = endpoint.secret

    stored = column("webhooks_webhookendpoint", "secret", endpoint.pk)
    assert shown.startswith("whsec_") and shown not in stored and shown[6:] not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token
    # Read back through the model, signed, and verified by the receivers' reference library.
    fresh = WebhookEndpoint.objects.get(pk=endpoint.pk)
    body = b'{"id": "evt_1"}'
    timestamp = int(time.time())
    headers = signing.signature_headers(secret=fresh.secret, message_id="msg_1", timestamp=timestamp, body=body)
    assert Webhook(shown).verify(body, headers) == {"id": "evt_1"}


def test_a_webhook_secret_shown_by_the_api_is_not_in_the_database(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    client = APIClient()
    client.force_authenticate(UserFactory())

    created = client.post("/api/webhooks/", {"url": "http://127.0.0.1:9/hook", "events": ["*"]}, format="json").json()

    assert created["secret"] not in column("webhooks_webhookendpoint", "secret", created["id"])


def test_totp_keys_and_recovery_codes_are_not_in_their_rows_and_still_log_in():
    operator = StaffFactory(authenticator=False)
    enrolment = user_totp_enrol(actor=None, user=operator)
    device = AuthenticatorDevice.objects.get(user=operator)

    stored_key = column("users_authenticatordevice", "key", device.pk)
    assert device.key not in stored_key and totp_secret(device) not in stored_key
    stored_codes = [column("users_recoverycode", "code", code.pk) for code in RecoveryCode.objects.all()]
    assert len(stored_codes) == 10
    assert not set(enrolment.recovery_codes) & set(stored_codes)
    assert not any(code in stored for code in enrolment.recovery_codes for stored in stored_codes)

    from walletmanager.testing.two_factor import totp_code

    body = {"email": operator.email, "password": DEFAULT_PASSWORD}
    by_totp = APIClient().post("/api/auth/login/", {**body, "otp": totp_code(operator)})
    by_code = APIClient().post("/api/auth/login/", {**body, "otp": enrolment.recovery_codes[3]})
    again = APIClient().post("/api/auth/login/", {**body, "otp": enrolment.recovery_codes[3]})

    assert (by_totp.status_code, by_code.status_code) == (200, 200)
    assert (again.status_code, again.json()["code"]) == (401, "invalid_otp")
    assert RecoveryCode.objects.count() == 9


def test_the_migration_moves_and_encrypts_what_django_otp_held():
    """Rows as django-otp stored them before (plain), moved by the data migration's own function."""
    operator = StaffFactory(authenticator=False)
    old_totp = TOTPDevice.objects.create(user=operator, name="Old phone", confirmed=True)
    old_static = StaticDevice.objects.create(user=operator, name="Old codes", confirmed=True)
    StaticToken.objects.create(device=old_static, token="abcd2345")
    migration = __import__("users.migrations.0003_second_factor_encrypted", fromlist=["move_devices"])

    migration.move_devices(apps, None)

    assert not TOTPDevice.objects.exists() and not StaticDevice.objects.exists() and not StaticToken.objects.exists()
    moved = AuthenticatorDevice.objects.get(user=operator)
    assert (moved.name, moved.key) == ("Old phone", old_totp.key)
    assert old_totp.key not in column("users_authenticatordevice", "key", moved.pk)
    (code,) = RecoveryCode.objects.filter(device__user=operator)
    assert code.code == "abcd2345" and "abcd2345" not in column("users_recoverycode", "code", code.pk)


def test_the_migration_encrypts_existing_webhook_secrets(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    endpoint = webhook_endpoint_create(actor=UserFactory(), url="http://127.0.0.1:9/hook", events=["*"])
    plain = endpoint.secret
    with connection.cursor() as cursor:  # as the column was before the migration
        cursor.execute("UPDATE webhooks_webhookendpoint SET secret = %s WHERE id = %s", [plain, endpoint.pk])
    migration = __import__("walletmanager.webhooks.migrations.0002_encrypt_secrets", fromlist=["encrypt_existing"])

    migration.encrypt_existing(apps, SimpleNamespace(connection=connection))

    assert plain not in column("webhooks_webhookendpoint", "secret", endpoint.pk)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == plain


def test_a_key_is_rotated_by_putting_a_new_one_first_and_re_encrypting(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    endpoint = webhook_endpoint_create(actor=UserFactory(), url="http://127.0.0.1:9/hook", events=["*"])
    operator = StaffFactory()
    key = AuthenticatorDevice.objects.get(user=operator).key
    old = list(settings.FIELD_ENCRYPTION_KEYS)
    new = Fernet.generate_key().decode()

    settings.FIELD_ENCRYPTION_KEYS = [new, *old]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret  # old rows still read
    out = StringIO()
    call_command("rotate_field_encryption", stdout=out)
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key dropped

    assert out.getvalue().startswith("Re-encrypted ")
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret
    assert AuthenticatorDevice.objects.get(user=operator).key == key


def test_a_value_under_a_dropped_key_is_a_clear_error_not_garbage(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    endpoint = webhook_endpoint_create(actor=UserFactory(), url="http://127.0.0.1:9/hook", events=["*"])
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        WebhookEndpoint.objects.get(pk=endpoint.pk)


def _manage(*args: str, **env_changes: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "example.com"}
    env.pop("DJANGO_SECURE_SSL_REDIRECT", None)
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.django_db(transaction=False)
def test_without_debug_the_app_refuses_to_start_without_an_encryption_key():
    result = _manage("check", FIELD_ENCRYPTION_KEYS=None)

    assert result.returncode != 0
    assert "ImproperlyConfigured: FIELD_ENCRYPTION_KEYS is not set" in result.stderr


def test_a_malformed_key_stops_the_app_and_the_development_key_is_flagged():
    malformed = _manage("check", FIELD_ENCRYPTION_KEYS="not-a-fernet-key")
    development = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="1",
        FIELD_ENCRYPTION_KEYS=None,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        PAYMENT_CALLBACK_SECRET=base64.b64encode(secrets.token_bytes(24)).decode(),
    )

    assert malformed.returncode != 0 and "walletmanager.E010" in malformed.stdout + malformed.stderr
    assert development.returncode != 0 and "walletmanager.W010" in development.stdout + development.stderr
