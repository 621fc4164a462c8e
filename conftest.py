"""Fixtures shared by every app's tests and the suite's hooks.

The fixtures several apps' tests use live in ``walletmanager/testing/fixtures.py``, registered here
(pytest reads ``pytest_plugins`` from the root conftest only); app-specific ones live in
``<app>/tests/conftest.py``. Plain helpers are imported from ``walletmanager/testing/``, never from a
conftest.
"""

import pytest
from rest_framework.test import APIClient

pytest_plugins = ["walletmanager.testing.fixtures"]


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttles and PIN lockouts live in the cache; every test starts with a clean one."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every transactional test restores the migrations' data (currencies, system wallets, groups,
    content types) through ``serialized_rollback``.

    A transactional test without it ends with a flush that re-creates content types and permissions
    under new ids; a later serialized test then restores the originals on top of them and fails with
    duplicate rows. Making it uniform keeps the suite independent of test order.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None or not marker.kwargs.get("transaction") or marker.kwargs.get("serialized_rollback"):
            continue
        item.add_marker(
            pytest.mark.django_db(*marker.args, **{**marker.kwargs, "serialized_rollback": True}), append=False
        )


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's ``admin_client``, with the session verified by a second factor as after the
    admin's login form: the admin lets no password-only session in (SPEC §13)."""
    from walletmanager.testing.two_factor import verified_staff_login

    verified_staff_login(client, admin_user)
    return client
