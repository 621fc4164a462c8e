from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from users import services
from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory
from walletmanager.testing.clients import token_client

LOGIN = "/api/auth/login/"
LOGOUT = "/api/auth/logout/"
ME = "/api/me/"
INVALID = {"code": "invalid_credentials", "detail": "Unable to log in with the provided credentials."}


def with_rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


@pytest.mark.django_db
def test_login_returns_a_token_that_authenticates_with_token_and_bearer_prefixes(api_client, client_user, settings):
    response = api_client.post(LOGIN, {"email": client_user.email.upper(), "password": DEFAULT_PASSWORD})

    assert response.status_code == 200, response.data
    assert set(response.data) == {"token", "expiry"}
    token = AuthToken.objects.get(user=client_user)
    assert abs(token.expiry - timezone.now() - settings.TOKEN_TTL) < timedelta(minutes=1)
    for prefix in ("Token", "Bearer"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"{prefix} {response.data['token']}")
        assert client.get(ME).data["email"] == client_user.email
    client_user.refresh_from_db()
    assert client_user.last_login is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "email, password",
    [
        ("client0@example.com", "wrong-password-123"),
        ("nobody@example.com", DEFAULT_PASSWORD),
        ("nobody@example.com", "wrong-password-123"),
    ],
)
def test_wrong_email_or_password_gets_one_generic_401(api_client, email, password):
    UserFactory(email="client0@example.com")

    response = api_client.post(LOGIN, {"email": email, "password": password})

    assert response.status_code == 401
    assert response.data == INVALID
    assert not AuthToken.objects.exists()


@pytest.mark.django_db
def test_unknown_emails_cost_a_password_hash_like_known_ones(api_client, monkeypatch):
    """Timing enumeration: an unknown email must still pay for hashing the submitted password."""
    from users import login as users_login

    hashed = []
    real = users_login.make_password
    monkeypatch.setattr(users_login, "make_password", lambda password: hashed.append(password) or real(password))

    api_client.post(LOGIN, {"email": "nobody@example.com", "password": "guess-number-one"})

    assert hashed == ["guess-number-one"]


@pytest.mark.django_db
def test_the_system_user_can_never_log_in(api_client):
    system = User.objects.get(is_system=True)
    system.set_password("system-password-1")
    system.save()

    response = api_client.post(LOGIN, {"email": system.email, "password": "system-password-1"})

    assert response.status_code == 401
    assert response.data == INVALID


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "a@example.com"},
        {"password": "x"},
        {"email": ["a"], "password": "x"},
        {"email": "a" * 10_000, "password": "x"},
        {"email": "a@example.com", "password": "x" * 100_000},
        {"email": "nul\x00@example.com", "password": "x"},
        {"email": "a@example.com", "password": "nul\x00"},
    ],
)
def test_malformed_login_bodies_are_400(api_client, body):
    response = api_client.post(LOGIN, body, format="json")

    assert response.status_code == 400
    assert not AuthToken.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw", ['{"email": "\\ud800@example.com", "password": "x"}', '{"email": "a@example.com", "password": "\\udfff"}']
)
def test_lone_surrogates_are_400_not_500(api_client, raw):
    response = api_client.post(LOGIN, raw, content_type="application/json")

    assert response.status_code == 400


@pytest.mark.django_db
def test_blocked_user_with_the_right_password_is_told_403_account_blocked(api_client, client_user):
    services.user_block(actor=None, user=client_user, reason="fraud check")

    response = api_client.post(LOGIN, {"email": client_user.email, "password": DEFAULT_PASSWORD})
    wrong = api_client.post(LOGIN, {"email": client_user.email, "password": "not-the-password"})

    # account_blocked: one code, one status (user_blocked is the 409 of a blocked owner's money movement).
    assert response.status_code == 403
    assert response.json() == {"code": "account_blocked", "detail": "This account is blocked. Contact support."}
    assert wrong.status_code == 401  # without the password nobody learns the account is blocked
    assert not AuthToken.objects.exists()


@pytest.mark.django_db
def test_closed_user_gets_403_account_closed(api_client, client_user):
    services.user_close(actor=None, user=client_user, reason="customer asked")

    response = api_client.post(LOGIN, {"email": client_user.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 403
    assert response.json() == {"code": "account_closed", "detail": "This account is closed."}


@pytest.mark.django_db
def test_login_is_throttled_per_email_whatever_its_case_or_address(client_user, settings):
    with_rates(settings, login_email="3/min", login_ip="100/min")

    codes = []
    for n in range(4):
        client = APIClient(REMOTE_ADDR=f"10.0.0.{n}")
        email = client_user.email.upper() if n % 2 else client_user.email
        codes.append(client.post(LOGIN, {"email": email, "password": "wrong-password"}).status_code)
    other = APIClient(REMOTE_ADDR="10.0.0.9").post(LOGIN, {"email": "other@example.com", "password": "x"})

    assert codes == [401, 401, 401, 429]
    assert other.status_code == 401  # another account is not affected


@pytest.mark.django_db
def test_login_is_throttled_per_address_across_emails(client_user, settings):
    with_rates(settings, login_email="100/min", login_ip="3/min")
    client = APIClient(REMOTE_ADDR="10.1.1.1")

    codes = [client.post(LOGIN, {"email": f"guess{n}@example.com", "password": "x"}).status_code for n in range(3)]
    blocked = client.post(LOGIN, {"email": client_user.email, "password": DEFAULT_PASSWORD})
    elsewhere = APIClient(REMOTE_ADDR="10.1.1.2").post(
        LOGIN, {"email": client_user.email, "password": DEFAULT_PASSWORD}
    )

    assert codes == [401, 401, 401]
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers
    assert elsewhere.status_code == 200


@pytest.mark.django_db
def test_default_rates_throttle_the_sixth_attempt_on_one_email(api_client, client_user):
    codes = [
        api_client.post(LOGIN, {"email": client_user.email, "password": "bad-guess"}).status_code for _ in range(6)
    ]

    assert codes == [401] * 5 + [429]


@pytest.mark.django_db
def test_logout_revokes_only_the_token_used(client_user):
    first = token_client(client_user)
    second = token_client(client_user)

    response = first.post(LOGOUT)

    assert response.status_code == 204
    assert first.get(ME).status_code == 401
    assert second.get(ME).status_code == 200
    assert AuthToken.objects.filter(user=client_user).count() == 1


@pytest.mark.django_db
def test_logout_needs_a_login(api_client):
    assert api_client.post(LOGOUT).status_code == 401


@pytest.mark.django_db
def test_session_logout_ends_the_session(client_user):
    client = APIClient()
    client.force_login(client_user)

    assert client.post(LOGOUT).status_code == 204
    refused = client.get(ME)
    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")
    assert client_user.email not in refused.content.decode()


@pytest.mark.django_db
def test_me_shows_the_profile(client_user):
    response = token_client(client_user).get(ME)

    assert response.data == {
        "id": client_user.pk,
        "email": client_user.email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "role": "client",
        "status": "active",
    }


@pytest.mark.django_db
def test_me_patch_changes_only_names(client_user):
    email = client_user.email
    response = token_client(client_user).patch(
        ME, {"first_name": " Augusta ", "email": "x@example.com", "role": "admin", "status": "closed"}, format="json"
    )

    assert response.status_code == 200, response.data
    client_user.refresh_from_db()
    assert (client_user.first_name, client_user.last_name) == ("Augusta", "Lovelace")
    assert (client_user.email, client_user.role, client_user.status) == (email, "client", "active")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", [{"first_name": ""}, {"first_name": "   "}, {"last_name": "Bobby; DROP"}, {"last_name": "x" * 151}]
)
def test_me_patch_refuses_bad_names_and_changes_nothing(client_user, body):
    response = token_client(client_user).patch(ME, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["fields"]) == set(body)
    client_user.refresh_from_db()
    assert (client_user.first_name, client_user.last_name) == ("Ada", "Lovelace")


@pytest.mark.django_db
def test_me_refuses_put_and_anonymous(api_client, client_user):
    assert token_client(client_user).put(ME, {"first_name": "A", "last_name": "B"}, format="json").status_code == 405
    assert api_client.get(ME).status_code == 401
    assert api_client.get(ME, HTTP_AUTHORIZATION="Token not-a-real-token").status_code == 401


@pytest.mark.django_db
def test_session_auth_on_the_api_enforces_csrf(client_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(client_user)

    refused = client.patch(ME, {"first_name": "Eve"}, format="json")
    client_user.refresh_from_db()

    assert refused.status_code == 403
    assert "CSRF" in refused.data["detail"]
    assert client_user.first_name == "Ada"


@pytest.mark.django_db
def test_session_auth_with_the_csrf_token_is_accepted(client_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(client_user)
    client.get("/api/auth/session/login/")  # a form page: sets the csrftoken cookie, as the browsable API does

    response = client.patch(
        ME, {"first_name": "Eve"}, format="json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )

    assert response.status_code == 200, response.data
    assert response.data["first_name"] == "Eve"
