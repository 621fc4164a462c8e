"""Fixtures shared by every app's tests. App-specific ones live in ``<app>/tests/conftest.py``."""

import pytest
from rest_framework.test import APIClient


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
