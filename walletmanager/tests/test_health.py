from django.db import connections
from django.test.utils import CaptureQueriesContext


def test_health_answers_ok_anonymously_without_touching_the_database(api_client, db):
    with CaptureQueriesContext(connections["default"]) as captured:
        response = api_client.get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(captured.captured_queries) == 0


def test_health_ignores_a_bad_token(api_client, db):
    """A probe never authenticates: a stale header must not turn a liveness check into a 401."""
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    with CaptureQueriesContext(connections["default"]) as captured:
        response = api_client.get("/api/health/")
    assert response.status_code == 200
    assert len(captured.captured_queries) == 0


def test_health_is_documented_in_the_schema(api_client, db):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    operation = response.json()["paths"]["/api/health/"]["get"]
    assert operation["operationId"] == "health"
