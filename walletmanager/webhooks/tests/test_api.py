"""``/api/webhooks/`` (SPEC §15): what a client app may register, and what it is told."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from users.tests.factories import UserFactory
from walletmanager.models import AuditEvent
from walletmanager.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db
URL = "/api/webhooks/"
RECEIVER = "http://127.0.0.1:9/hooks"


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def private_urls_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True


def test_the_secret_is_shown_once_and_the_registration_audited(api, user, private_urls_allowed):
    created = api.post(
        URL,
        {"url": RECEIVER, "events": ["transaction.posted", "deposit.posted"], "description": "books"},
        format="json",
    )

    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 30
    assert (body["url"], body["events"], body["scope"], body["is_active"]) == (
        RECEIVER,
        ["transaction.posted", "deposit.posted"],
        "own",
        True,
    )
    assert "secret" not in api.get(f"{URL}{body['id']}/").json()
    assert [row["id"] for row in api.get(URL).json()["results"]] == [body["id"]]
    event = AuditEvent.objects.get(action="webhook.endpoint_created")
    assert (event.actor, event.data["url"]) == (user, RECEIVER) and body["secret"] not in str(event.data)


@pytest.mark.parametrize(
    "url, words",
    [
        ("http://example.com/hooks", "https"),
        ("https://127.0.0.1/hooks", "public"),
        ("https://169.254.169.254/latest/meta-data", "public"),
        ("https://10.0.0.8/hooks", "public"),
        ("ftp://example.com/hooks", "https"),
        ("not a url", ""),
    ],
)
def test_a_url_that_is_not_https_to_a_public_address_is_refused(api, url, words):
    response = api.post(URL, {"url": url, "events": ["*"]}, format="json")

    assert response.status_code == 400
    (error,) = response.json()["fields"]["url"]
    assert words in error["detail"]
    assert error["code"] in ("webhook_url_refused", "invalid")
    assert not WebhookEndpoint.objects.exists()


def test_events_must_be_known_types(api, private_urls_allowed):
    unknown = api.post(URL, {"url": RECEIVER, "events": ["transaction.posted", "money.printed"]}, format="json")
    empty = api.post(URL, {"url": RECEIVER, "events": []}, format="json")

    assert unknown.status_code == 400
    (error,) = unknown.json()["fields"]["events"]
    assert error["code"] == "unknown_event_type" and "money.printed" in error["detail"]
    assert empty.status_code == 400 and "events" in empty.json()["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_event_types_are_listed_with_what_they_mean(api):
    types = {row["type"]: row["description"] for row in api.get(f"{URL}event-types/").json()}

    assert {
        "transaction.pending",
        "transaction.posted",
        "transaction.rejected",
        "transaction.cancelled",
        "transaction.expired",
        "transaction.reversed",
        "deposit.pending",
        "deposit.posted",
        "wallet.blocked",
        "wallet.unblocked",
        "wallet.closed",
        "balance.frozen",
        "balance.unfrozen",
    } <= set(types)
    assert all(types.values())


def test_nobody_sees_or_deletes_anothers_endpoint_and_delete_keeps_the_log(api, user, private_urls_allowed):
    mine = api.post(URL, {"url": RECEIVER, "events": ["*"]}, format="json").json()
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())

    assert stranger.get(f"{URL}{mine['id']}/").status_code == 404
    assert stranger.delete(f"{URL}{mine['id']}/").status_code == 404
    assert stranger.get(URL).json()["results"] == []
    assert api.get(f"{URL}not-a-number/").status_code == 404

    assert api.delete(f"{URL}{mine['id']}/").status_code == 204
    assert api.get(f"{URL}{mine['id']}/").status_code == 404
    assert WebhookEndpoint.objects.get(pk=mine["id"]).deleted_at is not None
    assert AuditEvent.objects.filter(action="webhook.endpoint_deleted", actor=user).count() == 1


def test_ten_endpoints_each_at_most(api, private_urls_allowed):
    for number in range(10):
        assert api.post(URL, {"url": f"{RECEIVER}/{number}", "events": ["*"]}, format="json").status_code == 201

    refused = api.post(URL, {"url": RECEIVER, "events": ["*"]}, format="json")

    assert (refused.status_code, refused.json()["code"]) == (400, "too_many_webhook_endpoints")
    assert WebhookEndpoint.objects.count() == 10


def test_anonymous_callers_are_refused(private_urls_allowed):
    response = APIClient().post(URL, {"url": RECEIVER, "events": ["*"]}, format="json")

    assert response.status_code == 401 and not WebhookEndpoint.objects.exists()


def test_the_url_error_reveals_no_dns_answer_for_internal_names(api, monkeypatch):
    """An internal name that resolves (to a private address) and a name that does not resolve at all
    get the same words, and no address: the form is no oracle for the internal network's DNS."""
    import socket

    def internal_dns(host, port, *args, **kwargs):
        if host == "db.corp.internal":
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("10.20.30.40", port))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", internal_dns)

    resolves = api.post(URL, {"url": "https://db.corp.internal/hook", "events": ["*"]}, format="json")
    unknown = api.post(URL, {"url": "https://nothing.corp.internal/hook", "events": ["*"]}, format="json")

    assert resolves.status_code == unknown.status_code == 400
    assert resolves.json()["fields"]["url"] == unknown.json()["fields"]["url"]
    (error,) = resolves.json()["fields"]["url"]
    assert "not allowed" in error["detail"]
    assert "10.20.30.40" not in resolves.content.decode() and "resolve" not in resolves.content.decode()
    assert not WebhookEndpoint.objects.exists()
