"""API clients acting as a user: authenticated by DRF directly, or with a real knox token."""

from __future__ import annotations

from rest_framework.test import APIClient

from users.services import user_login
from users.tests.factories import DEFAULT_PASSWORD
from walletmanager.testing.two_factor import recovery_code


def authenticated(user) -> APIClient:
    """A client whose requests DRF treats as ``user``'s, without a token or session."""
    api = APIClient()
    api.force_authenticate(user)
    return api


def token_client(user, password: str = DEFAULT_PASSWORD) -> APIClient:
    """An API client carrying a fresh knox token of ``user``, obtained the way a real client gets one
    (staff with a recovery code: a TOTP code would work only once per 30 seconds)."""
    otp = recovery_code(user) if user.is_staff else None
    _, token = user_login(email=user.email, password=password, otp=otp)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client
