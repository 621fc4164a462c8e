"""Token authentication: knox tokens (stored hashed, expiring) sent as ``Token <key>`` or ``Bearer <key>``."""

from __future__ import annotations

from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions
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
