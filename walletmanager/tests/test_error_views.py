import pytest

pytestmark = pytest.mark.django_db


def test_an_api_url_that_matches_no_route_answers_json_404(api_client):
    response = api_client.post("/api/users/0.5/block/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_pages_outside_the_api_keep_django_s_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
