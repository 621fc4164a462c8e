"""Issue 13, no dead ends: what the project advertises answers (``/api/``, ``/``, the admin's "View
site", the browsable API's login)."""

from __future__ import annotations

import pytest
from django.test import Client

from users.tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from walletmanager.testing.two_factor import verified_staff_login

pytestmark = pytest.mark.django_db


def test_the_api_root_lists_the_resources_as_json_links(client):
    response = client.get("/api/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    body = response.json()
    assert body["wallets"] == "http://testserver/api/wallets/"
    assert body["transactions"] == "http://testserver/api/transactions/"
    assert body["login"] == "http://testserver/api/auth/login/"
    assert body["docs"] == "http://testserver/api/docs/"
    for link in body.values():
        assert client.get(link.removeprefix("http://testserver")).status_code != 404, link


def test_the_root_redirects_to_the_admin(client):
    response = client.get("/")

    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_view_site_in_the_admin_leads_to_the_api_root():
    operator = Client()
    verified_staff_login(operator, StaffFactory(is_superuser=True))

    page = operator.get("/admin/").content.decode()

    assert 'href="/api/"' in page
    assert operator.get("/api/").status_code == 200


def test_the_browsable_apis_session_login_lands_on_the_browsable_api(client):
    user = UserFactory()

    response = client.post("/api/auth/session/login/", {"username": user.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/api/"
