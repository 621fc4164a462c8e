"""Settings for WalletManager, read from environment variables only (see README, "Configuration")."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

# `make run` writes the development settings (DJANGO_DEBUG=1, ...) to `.env` in the checkout, so that
# `manage.py`, a worker started by hand and a shell run as `make run` does. A variable already set in the
# environment wins over the file. WALLETMANAGER_ENV_FILE names another file, or none when empty (the
# test suite reads none: a developer's `.env` must not change what the tests see).
ENV_FILE = os.environ.get("WALLETMANAGER_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    load_dotenv(ENV_FILE, override=False)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from error


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

# Development (DJANGO_DEBUG on) falls back to a fixed, published key; without DJANGO_DEBUG the app
# refuses to start without its own (SPEC §13): sessions, CSRF tokens and password resets are signed with it.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random value (DJANGO_DEBUG is off: production), "
            "or set DJANGO_DEBUG=1 for development."
        )
    SECRET_KEY = "django-insecure-walletmanager-local-development-key"

# TOTP keys, recovery codes and webhook secrets are encrypted at rest under these Fernet keys
# (walletmanager.encrypted_fields, SPEC §13): the first encrypts, all decrypt (rotation,
# docs/configuration.md). Like DJANGO_SECRET_KEY: a published development key with DJANGO_DEBUG on;
# without DJANGO_DEBUG the app refuses to start without keys of its own.
DEVELOPMENT_FIELD_ENCRYPTION_KEY = "d2FsbGV0bWFuYWdlci1kZXZlbG9wbWVudC1rZXktMDA="
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is not set. Set it to a Fernet key (DJANGO_DEBUG is off: production): "
            'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        )
    FIELD_ENCRYPTION_KEYS = [DEVELOPMENT_FIELD_ENCRYPTION_KEY]

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    # The admin site that asks operators for their second factor (walletmanager.admin_site).
    "users.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "walletmanager.apps.ApiTokensConfig",  # knox
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "walletmanager.apps.AuthenticatorAppsConfig",  # django_otp.plugins.otp_totp
    "walletmanager.apps.RecoveryCodesConfig",  # django_otp.plugins.otp_static
    "csp",
    # Background jobs on PostgreSQL (SPEC §15); before our apps, whose ready() may use its app.
    "walletmanager.apps.BackgroundJobsConfig",  # procrastinate.contrib.django
    "walletmanager.apps.WalletManagerConfig",
    "walletmanager.approvals.apps.ApprovalsConfig",
    "walletmanager.webhooks.apps.WebhooksConfig",
    "users.apps.UsersConfig",
    "wallets.apps.WalletsConfig",
    "balances.apps.BalancesConfig",
    "transactions.apps.TransactionsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # First, so every audit event of the request (a staff session timing out included) has the client IP.
    "walletmanager.middleware.AuditContextMiddleware",
    # A 404 under /api/ is JSON in every mode (DEBUG's HTML page would reach API clients).
    "walletmanager.middleware.ApiNotFoundMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "users.sessions.StaffSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "walletmanager.urls"
WSGI_APPLICATION = "walletmanager.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL (the runtime role) and DATABASE_MIGRATION_URL (the schema owner, SPEC §14),
# else the embedded PostgreSQL under var/ with both roles (SPEC §1).
if not os.environ.get("DATABASE_URL"):
    from walletmanager import embedded_postgres

    os.environ["DATABASE_URL"], os.environ["DATABASE_MIGRATION_URL"] = embedded_postgres.start(
        BASE_DIR / "var" / "pgdata"
    )
# Every process keeps a pool of at most DATABASE_POOL_MAX_SIZE connections (SPEC §18), Django's own
# (psycopg_pool): a threaded server (runserver, gunicorn gthread) no longer holds one connection per
# thread it ever ran. A request that finds every connection busy waits DATABASE_POOL_TIMEOUT_SECONDS,
# then answers 503 service_unavailable with Retry-After. The pool keeps connections open, so
# CONN_MAX_AGE must be 0 (Django refuses anything else with a pool).
DATABASE_POOL_MIN_SIZE = env_int("DATABASE_POOL_MIN_SIZE", 2)
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 10)
DATABASE_POOL_TIMEOUT = env_int("DATABASE_POOL_TIMEOUT_SECONDS", 5)
if not 0 <= DATABASE_POOL_MIN_SIZE <= DATABASE_POOL_MAX_SIZE or DATABASE_POOL_MAX_SIZE < 1:
    raise ImproperlyConfigured("DATABASE_POOL_MAX_SIZE must be at least 1 and at least DATABASE_POOL_MIN_SIZE (≥ 0).")
if DATABASE_POOL_TIMEOUT < 1:
    raise ImproperlyConfigured("DATABASE_POOL_TIMEOUT_SECONDS must be at least 1.")
DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=0)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("WalletManager runs on PostgreSQL only; DATABASE_URL must be postgres://…")
# Django's PostgreSQL backend, able to reconnect as the owner for migrations (walletmanager.database).
DATABASES["default"]["ENGINE"] = "walletmanager.database"
# With the pool: every connection is checked as it leaves the pool, so one PostgreSQL restarted
# killed is replaced rather than handed to a request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Parameters bound by the server, and the few hot statements marked ``prepared`` (walletmanager.database)
# parsed and planned once per connection. DATABASE_PREPARED_STATEMENTS=off turns preparing off, e.g.
# behind a transaction-pooling PgBouncer without prepared-statement support.
_DATABASE_OPTIONS = DATABASES["default"].setdefault("OPTIONS", {})  # none in a URL without a query string
_DATABASE_OPTIONS.setdefault("server_side_binding", True)
_DATABASE_OPTIONS.setdefault("prepare_threshold", 0 if env_bool("DATABASE_PREPARED_STATEMENTS", True) else None)
# A pooled connection keeps what it prepared when it goes back to the pool, so the hot statements stay
# prepared across requests (a connection the pool replaces prepares them again on first use).
_DATABASE_OPTIONS["pool"] = {
    "min_size": DATABASE_POOL_MIN_SIZE,
    "max_size": DATABASE_POOL_MAX_SIZE,
    "timeout": DATABASE_POOL_TIMEOUT,
    # A connection lost in an outage is tried again with doubling delays for this long, then given up;
    # a request that needs one afterwards connects at once. With psycopg_pool's default (5 minutes of
    # 1, 2, 4, 8 … s delays) a worker's pool stayed empty for seconds after PostgreSQL was back.
    "reconnect_timeout": 5,
}
if os.environ.get("DATABASE_MIGRATION_URL"):
    _owner = dj_database_url.parse(os.environ["DATABASE_MIGRATION_URL"])
    if (_owner["NAME"], _owner["HOST"], str(_owner["PORT"])) != (
        DATABASES["default"]["NAME"],
        DATABASES["default"]["HOST"],
        str(DATABASES["default"]["PORT"]),
    ):
        raise ImproperlyConfigured("DATABASE_MIGRATION_URL must name the same server and database as DATABASE_URL.")
    DATABASES["default"]["OWNER"] = {key: _owner[key] for key in ("USER", "PASSWORD", "HOST", "PORT")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: shared Redis when REDIS_URL is set (throttles and locks across processes), else local memory.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "walletmanager",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "users.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "first_name", "last_name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Dates and times as operators read them everywhere in the admin: 2026-11-26 01:03:59 UTC.
FORMAT_MODULE_PATH = ["walletmanager.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
LOGIN_URL = "/api/auth/session/login/"

# Security: production-safe unless DJANGO_DEBUG is on.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the browsable API reads it for its forms
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# The client's address (SPEC §13): REMOTE_ADDR, unless NUM_PROXIES > 0 trusted reverse proxies append
# to X-Forwarded-For; then the address the outermost of them saw. Throttles, lockouts and the audit
# trail all read it through walletmanager.client_ip.
NUM_PROXIES = env_int("DJANGO_NUM_PROXIES", 0)
if NUM_PROXIES < 0:
    raise ImproperlyConfigured("DJANGO_NUM_PROXIES must be 0 or more.")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "walletmanager.api.authentication.TokenAuthentication",
        "walletmanager.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only (docs/api.md): one body format to validate and to document, so a generated client
    # never sends a form. The browsable API posts its raw-content form as JSON and keeps working.
    "DEFAULT_PARSER_CLASSES": ["walletmanager.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "walletmanager.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "walletmanager.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "walletmanager.api.exception_handler.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": os.environ.get("LOGIN_THROTTLE_IP", "30/min"),
        "login_email": os.environ.get("LOGIN_THROTTLE_EMAIL", "5/min"),
        "register": os.environ.get("REGISTER_THROTTLE", "20/hour"),
        "pin": os.environ.get("PIN_THROTTLE", "30/min"),
        "pin_wallet": os.environ.get("PIN_THROTTLE_WALLET", "20/min"),
    },
    # 0 means REMOTE_ADDR for DRF too (None would make it trust any X-Forwarded-For).
    "NUM_PROXIES": NUM_PROXIES,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

TOKEN_TTL = timedelta(hours=env_int("TOKEN_TTL_HOURS", 10))
# Staff access (SPEC §13): short tokens and sessions for the people who can freeze customers and move money.
STAFF_TOKEN_TTL = timedelta(minutes=env_int("STAFF_TOKEN_TTL_MINUTES", 60))
STAFF_SESSION_IDLE = timedelta(minutes=env_int("STAFF_SESSION_IDLE_MINUTES", 15))
STAFF_SESSION_MAX_AGE = timedelta(hours=env_int("STAFF_SESSION_MAX_HOURS", 12))
# A staff account locks for STAFF_LOCKOUT_DURATION after STAFF_LOCKOUT_FAILURES failed logins within
# STAFF_LOCKOUT_WINDOW (PCI DSS 8.3.4); clients are throttled, never locked (anyone could lock them out).
STAFF_LOCKOUT_FAILURES = env_int("STAFF_LOCKOUT_FAILURES", 10)
STAFF_LOCKOUT_WINDOW = timedelta(minutes=env_int("STAFF_LOCKOUT_WINDOW_MINUTES", 15))
STAFF_LOCKOUT_DURATION = timedelta(minutes=env_int("STAFF_LOCKOUT_MINUTES", 30))
# Two factors for staff (django-otp, TOTP per RFC 6238). Wrong codes count towards the lockout and
# the login throttles above; django-otp's own per-device back-off would refuse a right code typed
# within seconds of a typo, so it is left to those.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "WalletManager")
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
REST_KNOX = {
    "TOKEN_TTL": TOKEN_TTL,
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_LIMIT_PER_USER": None,
    "AUTO_REFRESH": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "WalletManager API",
    "DESCRIPTION": "Custodial wallets: users, wallets, balances and a double-entry ledger.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: the docs page fetches nothing from the internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "walletmanager.api.schema.any_of_without_discriminator",
        "walletmanager.api.schema.named_enum_values",
    ],
    "ENUM_NAME_OVERRIDES": {
        "AccountStatusEnum": "wallets.models.Wallet.Status",
        "TransactionKindEnum": "transactions.models.Transaction.Kind",
        "TransactionStatusEnum": "transactions.models.Transaction.Status",
        "WalletKindEnum": "wallets.models.Wallet.Kind",
        "ErrorCodeEnum": "walletmanager.error_codes.ERROR_CODE_CHOICES",
    },
}

# Domain settings (SPEC §4, §5).
MAX_WALLETS_PER_USER = env_int("MAX_WALLETS_PER_USER", 10)
EXCHANGE_RATE_MAX_AGE = timedelta(hours=env_int("EXCHANGE_RATE_MAX_AGE_HOURS", 24))
HOLD_TTL = timedelta(days=env_int("HOLD_TTL_DAYS", 7))
PIN_MAX_ATTEMPTS = 5
# Wallet PINs and idempotency fingerprints are HMAC-SHA256 under this server-side key (SPEC §13).
# Without PIN_KEY it is derived from DJANGO_SECRET_KEY; set it on its own so that rotating the
# secret key does not invalidate every PIN.
PIN_KEY = os.environ.get("PIN_KEY", "")
PIN_LOCK_DURATION = timedelta(minutes=15)
IDEMPOTENCY_KEY_TTL = timedelta(hours=env_int("IDEMPOTENCY_KEY_TTL_HOURS", 48))

# Money comes in from a trusted source; no operator moves money alone (SPEC §12).
DEPOSIT_TTL = timedelta(days=env_int("DEPOSIT_TTL_DAYS", 3))
APPROVAL_TTL = timedelta(hours=env_int("APPROVAL_TTL_HOURS", 72))
# The payment provider signs its callbacks with this secret. Development (DJANGO_DEBUG on) falls back
# to a published secret (`check --deploy` flags it, walletmanager.W002); without DJANGO_DEBUG the app
# refuses to start without one (SPEC §13): anyone could sign a "money arrived" callback with it.
DEVELOPMENT_PAYMENT_CALLBACK_SECRET = "walletmanager-local-development-payment-secret"
PAYMENT_CALLBACK_SECRET = os.environ.get("PAYMENT_CALLBACK_SECRET") or ""
if not PAYMENT_CALLBACK_SECRET:
    if not DEBUG:
        raise ImproperlyConfigured(
            "PAYMENT_CALLBACK_SECRET is not set. Set it to the secret your payment provider signs callbacks with "
            "(DJANGO_DEBUG is off: production), or set DJANGO_DEBUG=1 for development."
        )
    PAYMENT_CALLBACK_SECRET = DEVELOPMENT_PAYMENT_CALLBACK_SECRET
PAYMENT_CALLBACK_TOLERANCE = timedelta(minutes=5)

# Background jobs and webhooks (SPEC §15). Jobs are Procrastinate's, in this database; the periodic
# schedule is walletmanager.jobs. Failed webhook deliveries are retried with exponential backoff
# (WEBHOOK_RETRY_BASE_SECONDS, ×4 each time, at most 8 h apart) for WEBHOOK_RETRY_WINDOW; then the
# endpoint is disabled until someone re-enables it.
PROCRASTINATE_ON_APP_READY = "walletmanager.jobs.on_app_ready"
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = ""
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 5)
WEBHOOK_RETRY_WINDOW = timedelta(hours=env_int("WEBHOOK_RETRY_WINDOW_HOURS", 24))
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
# A worker whose heartbeat is older than this shows as down on the dashboard.
WORKER_STALE_AFTER = timedelta(seconds=env_int("WORKER_STALE_AFTER_SECONDS", 120))
# Stalled jobs (SPEC §18): each worker records a heartbeat every WORKER_HEARTBEAT_SECONDS; a job still
# running under a worker silent for JOB_STALLED_AFTER_SECONDS (killed, its machine gone) is stalled,
# and a periodic job looks for stalled jobs every STALLED_JOBS_CHECK_SECONDS and runs them again.
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 10)
JOB_STALLED_AFTER = timedelta(seconds=env_int("JOB_STALLED_AFTER_SECONDS", 30))
STALLED_JOBS_CHECK_SECONDS = env_int("STALLED_JOBS_CHECK_SECONDS", 60)
if not 1 <= WORKER_HEARTBEAT_SECONDS < JOB_STALLED_AFTER.total_seconds():
    raise ImproperlyConfigured("JOB_STALLED_AFTER_SECONDS must be longer than WORKER_HEARTBEAT_SECONDS (≥ 1).")
if not (1 <= STALLED_JOBS_CHECK_SECONDS < 60 and 60 % STALLED_JOBS_CHECK_SECONDS == 0) and not (
    60 <= STALLED_JOBS_CHECK_SECONDS < 3600
    and 3600 % STALLED_JOBS_CHECK_SECONDS == 0
    and STALLED_JOBS_CHECK_SECONDS % 60 == 0
):
    raise ImproperlyConfigured("STALLED_JOBS_CHECK_SECONDS must divide a minute (1–30) or an hour (60, 120, … 1800).")
# ``manage.py worker`` waits for the database with backoff when it goes away, and exits 1 (for its
# supervisor to see) when it stayed unreachable this long.
WORKER_GIVE_UP_SECONDS = env_int("WORKER_GIVE_UP_SECONDS", 300)
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": WORKER_HEARTBEAT_SECONDS,
    # A starting worker forgets workers silent this long (their jobs count as stalled from then on).
    "stalled_worker_timeout": JOB_STALLED_AFTER.total_seconds(),
}
# Webhook URLs must be https to public addresses, an SSRF guard (SPEC §15). On, http and private
# addresses (this machine, the local network) are allowed too: for local receivers in development.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", False)

# Content-Security-Policy on every page (django-csp): nothing from other origins, no inline script.
# Inline style attributes stay allowed: the admin and the browsable API use them, and styles run no code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}
