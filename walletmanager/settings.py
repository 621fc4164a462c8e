"""Settings for WalletManager, read from environment variables only (see README, "Configuration")."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


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

# Without DJANGO_SECRET_KEY a fixed development key is used; `check --deploy` flags it (W009),
# so a production deployment cannot pass its checks without setting its own.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "django-insecure-walletmanager-local-development-key"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "walletmanager.apps.WalletManagerConfig",
    "walletmanager.approvals.apps.ApprovalsConfig",
    "users.apps.UsersConfig",
    "wallets.apps.WalletsConfig",
    "balances.apps.BalancesConfig",
    "transactions.apps.TransactionsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "walletmanager.middleware.AuditContextMiddleware",
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
DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("WalletManager runs on PostgreSQL only; DATABASE_URL must be postgres://…")
# Django's PostgreSQL backend, able to reconnect as the owner for migrations (walletmanager.database).
DATABASES["default"]["ENGINE"] = "walletmanager.database"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if os.environ.get("DATABASE_MIGRATION_URL"):
    _owner = dj_database_url.parse(os.environ["DATABASE_MIGRATION_URL"])
    if (_owner["NAME"], _owner["HOST"], str(_owner["PORT"])) != (
        DATABASES["default"]["NAME"], DATABASES["default"]["HOST"], str(DATABASES["default"]["PORT"])
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

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "walletmanager.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "walletmanager.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "walletmanager.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "walletmanager.api.exception_handler.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": os.environ.get("LOGIN_THROTTLE_IP", "30/min"),
        "login_email": os.environ.get("LOGIN_THROTTLE_EMAIL", "5/min"),
        "register": os.environ.get("REGISTER_THROTTLE", "20/hour"),
        "pin": os.environ.get("PIN_THROTTLE", "30/min"),
    },
    "NUM_PROXIES": env_int("DJANGO_NUM_PROXIES", 0) or None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

TOKEN_TTL = timedelta(hours=env_int("TOKEN_TTL_HOURS", 10))
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
    "ENUM_NAME_OVERRIDES": {"AccountStatusEnum": "wallets.models.Wallet.Status"},
}

# Domain settings (SPEC §4, §5).
MAX_WALLETS_PER_USER = env_int("MAX_WALLETS_PER_USER", 10)
EXCHANGE_RATE_MAX_AGE = timedelta(hours=env_int("EXCHANGE_RATE_MAX_AGE_HOURS", 24))
HOLD_TTL = timedelta(days=env_int("HOLD_TTL_DAYS", 7))
PIN_MAX_ATTEMPTS = 5
PIN_LOCK_DURATION = timedelta(minutes=15)
IDEMPOTENCY_KEY_TTL = timedelta(hours=env_int("IDEMPOTENCY_KEY_TTL_HOURS", 48))

# Money comes in from a trusted source; no operator moves money alone (SPEC §12).
DEPOSIT_TTL = timedelta(days=env_int("DEPOSIT_TTL_DAYS", 3))
APPROVAL_TTL = timedelta(hours=env_int("APPROVAL_TTL_HOURS", 72))
# The payment provider signs its callbacks with this secret. Without one, a development secret is
# used and `check --deploy` flags it (walletmanager.W002), as for DJANGO_SECRET_KEY.
DEVELOPMENT_PAYMENT_CALLBACK_SECRET = "walletmanager-local-development-payment-secret"
PAYMENT_CALLBACK_SECRET = os.environ.get("PAYMENT_CALLBACK_SECRET") or DEVELOPMENT_PAYMENT_CALLBACK_SECRET
PAYMENT_CALLBACK_TOLERANCE = timedelta(minutes=5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}
