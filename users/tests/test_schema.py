from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_users_api_schema_is_valid_and_has_no_warnings(tmp_path):
    """``spectacular --fail-on-warn`` raises on any warning from our views (another app's views are theirs)."""
    schema = tmp_path / "schema.yaml"

    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--urlconf",
        "users.urls",
        "--file",
        str(schema),
        skip_checks=True,
        stderr=StringIO(),
    )

    text = schema.read_text()
    for path in (
        "/auth/register/",
        "/auth/login/",
        "/auth/logout/",
        "/me/",
        "/users/{id}/block/",
        "/users/{id}/unblock/",
        "/users/{id}/close/",
    ):
        assert f"{path}:" in text
    assert "tokenAuth" in text
