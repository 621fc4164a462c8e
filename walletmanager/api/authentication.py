"""Token authentication: knox tokens (stored hashed, expiring) sent as ``Token <key>`` or ``Bearer <key>``."""

from __future__ import annotations

import binascii
from hmac import compare_digest

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from knox.signals import token_expired
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication as DRFSessionAuthentication
from rest_framework.authentication import get_authorization_header

from walletmanager.compiled_query import CompiledQuery

ACCEPTED_PREFIXES = (b"token", b"bearer")

# The rows of a token's key with their user, compiled once: building and compiling this query took
# more than half of the authentication's CPU (0.52 ms a request, 0.24 of it compiling; in-process,
# production settings; the effect on whole requests: walletmanager.compiled_query).
TOKENS_OF_KEY = CompiledQuery(
    lambda token_key: get_token_model().objects.select_related("user").filter(token_key=token_key),
    prepare=True,
    token_key="<stand-in key>",
)


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

    def authenticate_credentials(self, token: bytes):
        """knox's check in one query: the rows of the token's key with their user, the digest
        compared in constant time, an expired token refused (and deleted).

        knox also deletes the user's *other* expired tokens on every request, two more queries each
        time (a third of ``GET /api/wallets/{id}/``'s queries); the hourly ``purge_expired_tokens``
        job does that instead, and an expired token never authenticates either way."""
        token = token.decode("utf-8")
        for auth_token in TOKENS_OF_KEY.run(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                auth_token.delete()
                token_expired.send(sender=type(self), username=auth_token.user.get_username(), source="auth_token")
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed("Invalid token.") from None
            if compare_digest(digest, auth_token.digest):
                if auth_token.user.is_staff and auth_token.created < timezone.now() - settings.STAFF_TOKEN_TTL:
                    # A token issued before its user became staff (or with a longer lifetime by any
                    # other path) lives no longer than a staff token (SPEC §13).
                    auth_token.delete()
                    raise exceptions.AuthenticationFailed("Invalid token.")
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed("Invalid token.")


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
