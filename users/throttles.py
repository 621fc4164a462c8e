"""Brute-force throttles, counted in the shared cache (Redis in production).

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` and are read on every use (not once at
import like DRF's throttles), so settings overrides apply in tests and after a reload. Every client
address is ``walletmanager.client_ip`` (SPEC §13), never DRF's own reading of ``X-Forwarded-For``.

The login throttles are not DRF view throttles: the login policy (``users.login``) applies them to
every password entry point — the API, the admin and the browsable API's session login — so one
counter per email and one per address cover all three.
"""

from __future__ import annotations

import hashlib

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from walletmanager.client_ip import client_ip


class ScopedSettingsThrottle(SimpleRateThrottle):
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_ip(request) or "unknown"


class IPThrottle(ScopedSettingsThrottle):
    """Every request from one client address."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class RegisterThrottle(IPThrottle):
    scope = "register"


def _hashed(value: str) -> str:
    # A fixed-length key whatever was submitted, and no address in the cache in clear.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class LoginThrottle(ScopedSettingsThrottle):
    """One counter (``login_ip`` or ``login_email``) for one identity, outside any view."""

    def __init__(self, *, scope: str, ident: str | None) -> None:
        self.scope = scope
        self.ident = ident
        super().__init__()

    def get_cache_key(self, request, view):
        if not self.ident:
            return None  # no address (a call outside a request): that counter does not apply
        return self.cache_format % {"scope": self.scope, "ident": _hashed(self.ident)}

    def allow(self) -> bool:
        return self.allow_request(None, None)


def login_throttles(*, email: str, ip: str | None) -> list[LoginThrottle]:
    return [
        LoginThrottle(scope="login_ip", ident=ip),
        LoginThrottle(scope="login_email", ident=email.strip().lower()),
    ]
