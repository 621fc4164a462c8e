import pytest
from rest_framework.test import APIClient

from users.services import user_login
from users.tests.factories import DEFAULT_PASSWORD, StaffFactory, SuperuserFactory, UserFactory
from walletmanager.testing.two_factor import recovery_code


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Argon2 costs ~100 ms a hash; tests hash hundreds of passwords. ``test_passwords_are_hashed_with_argon2``
    checks the real setting."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client_user(db):
    return UserFactory()


@pytest.fixture
def support(db):
    return StaffFactory(groups=["Support"])


@pytest.fixture
def superuser(db):
    return SuperuserFactory()


def token_client(user, password: str = DEFAULT_PASSWORD) -> APIClient:
    """An API client carrying a fresh knox token of ``user``, obtained the way a real client gets one
    (staff with a recovery code: a TOTP code would work only once per 30 seconds)."""
    otp = recovery_code(user) if user.is_staff else None
    _, token = user_login(email=user.email, password=password, otp=otp)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client
