"""Under /api/ a 404 is JSON in every mode (issue 24): with DEBUG on, Django answered a URL no route
matches (a malformed id) with its HTML debug page, which a client parsing JSON cannot read."""

from __future__ import annotations

import pytest

from walletmanager.testing.clients import authenticated

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
@pytest.mark.parametrize(
    "path", ["/api/wallets/not-a-uuid/", "/api/transactions/%00/", "/api/no-such-thing/", "/api/wallets/x/y/z/"]
)
def test_an_unmatched_api_url_answers_json(client_user, settings, debug, path):
    settings.DEBUG = debug

    response = authenticated(client_user).get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_drf_s_own_404_and_the_admin_s_are_left_as_they_are(client_user, settings):
    settings.DEBUG = True

    missing_wallet = authenticated(client_user).get("/api/wallets/00000000-0000-0000-0000-000000000000/")

    assert missing_wallet.status_code == 404 and missing_wallet.json()["code"] == "not_found"
    assert "text/html" in authenticated(client_user).get("/no-such-page/")["Content-Type"]


def test_the_ordering_enum_is_named_for_generated_clients(client_user):
    schema = authenticated(client_user).get("/api/schema/", HTTP_ACCEPT="application/json").json()

    (ordering,) = [
        parameter
        for parameter in schema["paths"]["/api/transactions/"]["get"]["parameters"]
        if parameter["name"] == "ordering"
    ]
    enum = ordering["schema"]["items"]  # a list of orderings, each one of these
    names = dict(zip(enum["enum"], enum["x-enum-varnames"], strict=True))
    assert names["-amount"] == "AMOUNT_DESCENDING" and names["-created_at"] == "CREATED_AT_DESCENDING"
