"""Fixtures of the users tests; ``client_user`` and the other shared ones come from
``walletmanager/testing/fixtures.py``."""

import pytest

from users.tests.factories import StaffFactory, SuperuserFactory


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Argon2 costs ~100 ms a hash; tests hash hundreds of passwords. ``test_passwords_are_hashed_with_argon2``
    checks the real setting."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def support(db):
    return StaffFactory(groups=["Support"])


@pytest.fixture
def superuser(db):
    return SuperuserFactory()
