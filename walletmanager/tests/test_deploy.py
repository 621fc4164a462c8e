"""Project-wide checks: production settings pass `check --deploy`, the OpenAPI schema is valid
and warning-free, and every API view is documented."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_settings():
    result = _deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_debug_the_app_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "example.com"}
    env.pop("DJANGO_SECRET_KEY", None)
    env.pop("DJANGO_SECURE_SSL_REDIRECT", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in result.stderr


def test_with_debug_on_the_development_key_is_used_and_check_deploy_flags_it():
    env = {**os.environ, "DJANGO_DEBUG": "1", "DJANGO_ALLOWED_HOSTS": "example.com"}
    env.pop("DJANGO_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


@pytest.mark.django_db
def test_openapi_schema_is_valid_and_has_no_warnings(tmp_path):
    schema_file = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema_file))
    schema = schema_file.read_text()
    for path in ("/api/auth/login/", "/api/wallets/", "/api/transactions/", "/api/currencies/"):
        assert path in schema


@pytest.mark.django_db
def test_schema_and_docs_are_served(api_client):
    schema = api_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi" in schema.content
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    # Swagger UI is served from our own static files, never fetched from a CDN, and starts from a
    # script file of its own: the Content-Security-Policy allows no inline script.
    assert b"cdn.jsdelivr" not in docs.content
    assert b'<script src="/api/docs/?script=' in docs.content
    assert api_client.get("/api/docs/?script=").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/admin/login/", "/api/docs/", "/api/auth/session/login/", "/api/health/", "/api/nope/"]
)
def test_every_page_sends_a_content_security_policy_that_allows_no_other_origin(client, path):
    response = client.get(path)

    policy = dict(
        (directive.split()[0], directive.split()[1:]) for directive in response["Content-Security-Policy"].split("; ")
    )
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    sources = [source for values in policy.values() for source in values]
    assert all(source in ("'self'", "'none'", "'unsafe-inline'", "data:") for source in sources), sources


def _deploy_check(**overrides: str | None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "example.com",
        "PAYMENT_CALLBACK_SECRET": secrets.token_urlsafe(32),
        # Only its address: the checks never connect to it.
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/1",
    }
    env.pop("DJANGO_SECURE_SSL_REDIRECT", None)  # production default: redirect to HTTPS
    env.pop("WEBHOOK_ALLOW_PRIVATE_URLS", None)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_warns_when_the_app_would_run_as_the_schema_owner():
    # One URL only: the runtime role is the owner and could rewrite the ledger (SPEC §14).
    owner_url = os.environ.get("DATABASE_MIGRATION_URL") or os.environ["DATABASE_URL"]
    result = _deploy_check(DATABASE_URL=owner_url, DATABASE_MIGRATION_URL=None)
    assert result.returncode != 0
    assert "walletmanager.W001" in result.stdout + result.stderr


def test_without_debug_the_app_refuses_to_start_without_the_payment_callback_secret():
    """Tried: production settings without PAYMENT_CALLBACK_SECRET fell back to the development secret
    printed in the source, and a callback signed with it posted 999 999.99 USD."""
    result = _deploy_check(PAYMENT_CALLBACK_SECRET=None)
    assert result.returncode != 0
    assert "ImproperlyConfigured: PAYMENT_CALLBACK_SECRET is not set" in result.stderr
    for command in (["runserver", "--noreload", "--skip-checks", "127.0.0.1:1"], ["procrastinate", "worker"]):
        env = {**os.environ, "DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "example.com"}
        env.pop("PAYMENT_CALLBACK_SECRET", None)
        started = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert started.returncode != 0
        assert "PAYMENT_CALLBACK_SECRET is not set" in started.stderr


def test_with_debug_on_check_deploy_warns_about_the_development_payment_secret():
    result = _deploy_check(PAYMENT_CALLBACK_SECRET=None, DJANGO_DEBUG="1")
    assert result.returncode != 0
    assert "walletmanager.W002" in result.stdout + result.stderr


def test_check_deploy_fails_with_an_error_when_throttles_would_be_counted_per_process():
    """Tried: two gunicorn workers without REDIS_URL compared eight wrong PINs before the lock, and one
    email got nine logins a minute where five are allowed; `check --deploy` said nothing."""
    result = _deploy_check(REDIS_URL=None)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "ERRORS:" in output and "walletmanager.E001" in output
    assert "Set REDIS_URL" in output
    # An error, not a warning: the default fail level (ERROR) fails too, as a deploy script runs it.
    env = {**os.environ, "DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "example.com"}
    env.pop("REDIS_URL", None)
    plain = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plain.returncode != 0 and "walletmanager.E001" in plain.stderr


def test_check_deploy_warns_when_webhooks_may_reach_private_addresses():
    result = _deploy_check(WEBHOOK_ALLOW_PRIVATE_URLS="1")
    assert result.returncode != 0
    assert "walletmanager.W003" in result.stdout + result.stderr


@pytest.mark.django_db
def test_the_hot_statements_are_prepared_and_no_others():
    from django.db import connection

    from transactions.ledger import _MOVE_SQL, _RESOLVE_SQL, _REVERSE_SQL
    from walletmanager.database.base import _PREPARED, prepared

    hot = prepared("SELECT count(*) FROM wallets_wallet WHERE id <> %s::uuid")
    with connection.cursor() as cursor:
        for number in range(6):
            cursor.execute(hot, [f"{number:032x}"])
            cursor.execute("SELECT count(*) FROM wallets_wallet WHERE id = %s::uuid", [f"{number:032x}"])
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert "SELECT count(*) FROM wallets_wallet WHERE id <> $1::uuid" in statements
    assert "SELECT count(*) FROM wallets_wallet WHERE id = $1::uuid" not in statements  # planned at every run
    assert all(sql in _PREPARED for sql in (_MOVE_SQL, _RESOLVE_SQL, _REVERSE_SQL))  # one call each, prepared


@pytest.mark.django_db
def test_a_composed_query_still_runs_unprepared():
    from django.db import connection
    from psycopg import sql

    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT {}").format(sql.Literal(41)) + sql.SQL(" + 1"))
        assert cursor.fetchone() == (42,)


@pytest.mark.parametrize(("setting", "expected"), [("off", "None True"), ("", "0 True")], ids=["off", "default"])
def test_prepared_statements_follow_the_setting_whatever_the_database_url(setting, expected):
    # A URL without a query string (an external server) as well as the default one.
    code = "from django.conf import settings; options = settings.DATABASES['default']['OPTIONS']; "
    code += "print(options['prepare_threshold'], options['server_side_binding'])"
    for url in ("postgres://app@db.example:5432/walletmanager", None):
        env = {**os.environ, "DJANGO_DEBUG": "1", "DATABASE_PREPARED_STATEMENTS": setting}
        if url:
            env["DATABASE_URL"] = url
            env.pop("DATABASE_MIGRATION_URL", None)
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == expected
