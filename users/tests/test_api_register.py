import pytest

from users.models import User
from users.tests.factories import UserFactory

URL = "/api/auth/register/"


def people():
    """Users other than the system user that a migration creates."""
    return User.objects.filter(is_system=False)


GOOD = {
    "email": "New.Person@Example.com",
    "password": "violet-tangerine-87",
    "first_name": "Ana",
    "last_name": "O'Neil-Ruiz",
}


@pytest.mark.django_db
def test_register_creates_an_active_client_with_a_lowercased_email(api_client):
    response = api_client.post(URL, GOOD, format="json")

    assert response.status_code == 201, response.data
    user = people().get()
    assert response.data == {
        "id": user.pk,
        "email": "new.person@example.com",
        "first_name": "Ana",
        "last_name": "O'Neil-Ruiz",
        "role": "client",
        "status": "active",
    }
    assert "password" not in response.data
    assert user.check_password(GOOD["password"])


@pytest.mark.django_db
def test_register_trims_names_and_ignores_fields_a_client_may_not_set(api_client):
    body = {**GOOD, "first_name": "  Ana ", "role": "admin", "is_superuser": True, "status": "blocked", "id": 999}

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 201, response.data
    user = people().get()
    assert (user.first_name, user.role, user.is_superuser, user.status) == ("Ana", "client", False, "active")
    assert user.pk != 999


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2(api_client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]

    api_client.post(URL, GOOD, format="json")

    assert people().get().password.startswith("argon2")


@pytest.mark.django_db
def test_registration_leaves_one_audit_event(api_client):
    from walletmanager.models import AuditEvent

    api_client.post(URL, GOOD, format="json")

    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.target_id) == ("user.registered", None, str(people().get().pk))


HUGE = "a" * 100_000


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes, field",
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": ""}, "email"),
        ({"email": None}, "email"),
        ({"email": ["a@example.com"]}, "email"),
        ({"email": f"{'a' * 250}@example.com"}, "email"),
        ({"email": "nul\x00@example.com"}, "email"),
        ({"password": "short1x"}, "password"),
        ({"password": "password123"}, "password"),
        ({"password": "12345678901234"}, "password"),
        ({"password": "new.person@example.com"}, "password"),
        ({"password": "NewPerson-Example"}, "password"),
        ({"password": HUGE}, "password"),
        ({"password": 12345678901}, "password"),
        ({"first_name": ""}, "first_name"),
        ({"first_name": "   "}, "first_name"),
        ({"first_name": "R2D2"}, "first_name"),
        ({"first_name": "<script>"}, "first_name"),
        ({"first_name": "x" * 151}, "first_name"),
        ({"last_name": HUGE}, "last_name"),
        ({"last_name": {"a": 1}}, "last_name"),
        ({"last_name": "Smith\x00"}, "last_name"),
    ],
)
def test_bad_registrations_are_400_naming_the_field_and_create_nothing(api_client, changes, field):
    response = api_client.post(URL, {**GOOD, **changes}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"], response.json()
    assert all(error["code"] and error["detail"] for error in response.json()["fields"][field])
    assert not people().exists()


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["email", "password", "first_name", "last_name"])
def test_each_field_is_required(api_client, missing):
    body = {key: value for key, value in GOOD.items() if key != missing}

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"][missing] == [{"code": "required", "detail": "This field is required."}]
    assert not people().exists()


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@example.com", "  Taken@Example.COM "])
def test_an_email_is_taken_whatever_its_case(api_client, email):
    UserFactory(email="taken@example.com")

    response = api_client.post(URL, {**GOOD, "email": email}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "email: A user with this email already exists.",
        "fields": {"email": [{"code": "email_taken", "detail": "A user with this email already exists."}]},
    }
    assert people().count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("body", ['["a", "b"]', '"text"', "{", '{"email": NaN}', "null"])
def test_malformed_bodies_are_400(api_client, body):
    response = api_client.post(URL, body, content_type="application/json")

    assert response.status_code == 400
    assert not people().exists()


@pytest.mark.django_db
def test_registration_is_throttled_per_address(api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "register": "2/hour"},
    }

    codes = [api_client.post(URL, {**GOOD, "email": f"p{n}@example.com"}, format="json").status_code for n in range(3)]

    assert codes == [201, 201, 429]
    assert people().count() == 2
