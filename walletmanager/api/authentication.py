"""Token authentication: knox tokens (stored hashed, expiring) sent as ``Token <key>`` or ``Bearer <key>``."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication as DRFSessionAuthentication
from rest_framework.authentication import get_authorization_header

ACCEPTED_PREFIXES = (b"token", b"bearer")


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in ACCEPTED_PREFIXES:
            return None  # not ours: let session authentication try
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            return self.authenticate_credentials(auth[1])
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None


class SessionAuthentication(DRFSessionAuthentication):
    """The browsable API's session (CSRF enforced). A staff session counts only when its login passed
    the second factor (django-otp's middleware marks it verified), as in the admin (SPEC §13)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if user.is_staff and not (hasattr(user, "is_verified") and user.is_verified()):
            return None
        return result


class SessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "walletmanager.api.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe our knox subclass in the OpenAPI schema (drf-spectacular only knows knox's own class)."""

    target_class = "walletmanager.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` or `Bearer <key>`, the key from `POST /api/auth/login/`.",
        }
