"""API tokens: one query authenticates a request; expired tokens never work and are purged hourly."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from users.tests.factories import UserFactory
from walletmanager.testing.jobs import run_jobs


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _age(instance: AuthToken, *, expired_for: timedelta) -> None:
    AuthToken.objects.filter(pk=instance.pk).update(expiry=timezone.now() - expired_for)


@pytest.mark.django_db
def test_a_request_reads_its_token_and_user_in_one_query_and_leaves_other_tokens_alone():
    user = UserFactory(email="reader@example.com")
    _, token = AuthToken.objects.create(user, expiry=timedelta(hours=1))
    stale, _ = AuthToken.objects.create(user, expiry=timedelta(hours=1))
    _age(stale, expired_for=timedelta(minutes=5))

    with CaptureQueriesContext(connection) as captured:
        response = _client(token).get("/api/me/")

    assert response.status_code == 200 and response.json()["email"] == "reader@example.com"
    token_queries = [query["sql"] for query in captured.captured_queries if "knox_authtoken" in query["sql"]]
    assert len(token_queries) == 1 and token_queries[0].startswith("SELECT")
    assert "users_user" in token_queries[0]  # the user comes with the token, not in a second query
    assert AuthToken.objects.filter(pk=stale.pk).exists()  # the sweep is the hourly job's, not the request's


@pytest.mark.django_db
def test_an_expired_token_is_refused_and_deleted():
    user = UserFactory()
    instance, token = AuthToken.objects.create(user, expiry=timedelta(hours=1))
    _age(instance, expired_for=timedelta(seconds=1))

    response = _client(token).get("/api/me/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert not AuthToken.objects.filter(pk=instance.pk).exists()


@pytest.mark.django_db
def test_a_token_of_the_right_key_but_wrong_secret_is_refused():
    user = UserFactory()
    _, token = AuthToken.objects.create(user, expiry=timedelta(hours=1))
    forged = token[:8] + ("0" if token[8] != "0" else "1") + token[9:]

    response = _client(forged).get("/api/me/")

    assert response.status_code == 401 and response.json()["detail"] == "Invalid token."
    assert _client(token).get("/api/me/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_hourly_job_purges_expired_tokens_only():
    from procrastinate.contrib.django import app

    user = UserFactory()
    expired, _ = AuthToken.objects.create(user, expiry=timedelta(hours=1))
    _age(expired, expired_for=timedelta(minutes=1))
    live, token = AuthToken.objects.create(user, expiry=timedelta(hours=1))

    schedule = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    assert schedule["purge_expired_tokens"] == "37 * * * *"
    app.tasks["purge_expired_tokens"].defer(timestamp=int(time.time()))  # what the periodic deferrer does
    run_jobs()

    assert list(AuthToken.objects.values_list("pk", flat=True)) == [live.pk]
    assert _client(token).get("/api/me/").status_code == 200
