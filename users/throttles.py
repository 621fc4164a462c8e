"""Brute-force throttles of the auth endpoints, counted in the shared cache (Redis in production).

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` and are read on every request (not once
at import like DRF's throttles), so settings overrides apply in tests and after a reload.
"""

from __future__ import annotations

import hashlib

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ScopedSettingsThrottle(SimpleRateThrottle):
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class IPThrottle(ScopedSettingsThrottle):
    """Every attempt from one client address (``X-Forwarded-For`` honoured only behind ``NUM_PROXIES``)."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginIPThrottle(IPThrottle):
    scope = "login_ip"


class RegisterThrottle(IPThrottle):
    scope = "register"


class LoginEmailThrottle(ScopedSettingsThrottle):
    """Every attempt on one account, whatever address it comes from (the submitted email, lower-cased)."""

    scope = "login_email"

    def get_cache_key(self, request, view):
        try:
            email = request.data.get("email")
        except AttributeError:  # a JSON list or scalar body: the view answers 400
            return None
        if not isinstance(email, str) or not email.strip():
            return None
        # Hashed: a fixed-length key whatever was submitted, and no address in the cache in clear.
        ident = hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}
