"""System checks of the kernel (``manage.py check``)."""

from __future__ import annotations

from django.core import checks
from django.db import connections


@checks.register(checks.Tags.database, deploy=True)
def check_two_database_roles(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """SPEC §14: the application must not run as the role that owns the schema, or nothing keeps it
    from rewriting positions, entries and audit events, truncating or disabling triggers."""
    connection = connections["default"]
    if getattr(connection, "has_owner_role", False):
        return []
    return [
        checks.Warning(
            "The application connects as the role that runs the migrations: it could rewrite the ledger.",
            hint="Set DATABASE_MIGRATION_URL to the schema owner and DATABASE_URL to a runtime role of its own "
            "(README, 'Database roles').",
            id="walletmanager.W001",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def check_payment_callback_secret(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """SPEC §12: with the published development secret anyone could sign a "money arrived" callback."""
    from django.conf import settings

    if settings.PAYMENT_CALLBACK_SECRET != settings.DEVELOPMENT_PAYMENT_CALLBACK_SECRET:
        return []
    return [
        checks.Warning(
            "PAYMENT_CALLBACK_SECRET is not set: payment callbacks are verified with the development secret.",
            hint="Set PAYMENT_CALLBACK_SECRET to the secret your payment provider signs callbacks with.",
            id="walletmanager.W002",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def check_webhook_private_urls(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """SPEC §15: webhook URLs to private addresses let any client make the server call its own network."""
    from django.conf import settings

    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return []
    return [
        checks.Warning(
            "WEBHOOK_ALLOW_PRIVATE_URLS is on: clients may register webhooks to this server's own network.",
            hint="Unset WEBHOOK_ALLOW_PRIVATE_URLS outside development (it is for local receivers).",
            id="walletmanager.W003",
        )
    ]


@checks.register(checks.Tags.security)
def check_field_encryption_keys(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """SPEC §13: secrets at rest are encrypted under FIELD_ENCRYPTION_KEYS; a malformed key is an
    error at start-up, not at the first login."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from walletmanager.encrypted_fields import check_keys

    try:
        check_keys(settings.FIELD_ENCRYPTION_KEYS)
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="walletmanager.E010")]
    return []


@checks.register(checks.Tags.security, deploy=True)
def check_field_encryption_development_key(app_configs, **kwargs) -> list[checks.CheckMessage]:
    from django.conf import settings

    if settings.DEVELOPMENT_FIELD_ENCRYPTION_KEY not in settings.FIELD_ENCRYPTION_KEYS:
        return []
    return [
        checks.Warning(
            "FIELD_ENCRYPTION_KEYS holds the published development key: secrets at rest are readable by anyone.",
            hint="Set FIELD_ENCRYPTION_KEYS to a key of your own and run `manage.py rotate_field_encryption`.",
            id="walletmanager.W010",
        )
    ]


# Caches whose counts live in one process: each web process would count throttles on its own.
PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@checks.register(checks.Tags.caches, checks.Tags.security, deploy=True)
def check_shared_cache(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """SPEC §13: login throttles, staff lockouts and PIN attempts are counted in the cache. In a cache
    of each process's own, N processes allow N times the attempts (two gunicorn workers: eight wrong
    PINs compared before the lock, nine logins a minute for one email where five are allowed)."""
    from django.conf import settings

    if settings.CACHES["default"]["BACKEND"] not in PER_PROCESS_CACHES:
        return []
    return [
        checks.Error(
            "The cache is each process's own: throttles, staff lockouts and PIN attempts are counted per "
            "process, so every extra web process or worker multiplies the attempts allowed.",
            hint="Set REDIS_URL to a Redis server that every process shares (docs/configuration.md).",
            id="walletmanager.E001",
        )
    ]
