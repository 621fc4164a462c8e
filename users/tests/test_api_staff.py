import pytest

from users.models import User
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.clients import token_client
from wallets.tests.factories import WalletFactory

COMMANDS = ["block", "unblock", "close"]


def url(user_id, command):
    return f"/api/users/{user_id}/{command}/"


@pytest.mark.django_db
def test_staff_blocks_a_user_through_the_api(client_user, support):
    victim_client = token_client(client_user)

    response = token_client(support).post(url(client_user.pk, "block"), {"reason": "suspicious logins"}, format="json")

    assert response.status_code == 200, response.data
    assert response.data == {
        "id": client_user.pk,
        "email": client_user.email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "role": "client",
        "status": "blocked",
    }
    assert victim_client.get("/api/me/").status_code == 401
    event = AuditEvent.objects.get(action="user.blocked")
    assert (event.actor, event.target_id, event.reason, event.ip) == (
        support,
        str(client_user.pk),
        "suspicious logins",
        "127.0.0.1",
    )


@pytest.mark.django_db
def test_unblock_and_close_through_the_api(client_user, support):
    staff = token_client(support)
    staff.post(url(client_user.pk, "block"), {"reason": "check"}, format="json")

    unblocked = staff.post(url(client_user.pk, "unblock"), {}, format="json")
    closed = staff.post(url(client_user.pk, "close"), {"reason": "customer request"}, format="json")

    assert (unblocked.status_code, unblocked.data["status"]) == (200, "active")
    assert (closed.status_code, closed.data["status"]) == (200, "closed")
    assert list(
        AuditEvent.objects.filter(target_id=str(client_user.pk))
        .exclude(action="user.registered")
        .order_by("id")
        .values_list("action", "reason")
    ) == [("user.blocked", "check"), ("user.unblocked", ""), ("user.closed", "customer request")]


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["block", "close"])
@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 1001}, {"reason": ["a"]}])
def test_block_and_close_without_a_proper_reason_are_400(client_user, support, command, body):
    response = token_client(support).post(url(client_user.pk, command), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == ["reason"], response.json()
    client_user.refresh_from_db()
    assert client_user.status == "active"


@pytest.mark.django_db
@pytest.mark.parametrize("command", COMMANDS)
def test_clients_get_403_and_anonymous_401(api_client, client_user, command):
    target = UserFactory()

    as_client = token_client(client_user).post(url(target.pk, command), {"reason": "x"}, format="json")
    as_anonymous = api_client.post(url(target.pk, command), {"reason": "x"}, format="json")
    on_self = token_client(client_user).post(url(client_user.pk, command), {"reason": "x"}, format="json")

    assert as_client.status_code == 403 and as_client.data["code"] == "permission_denied"
    assert on_self.status_code == 403
    assert as_anonymous.status_code == 401 and as_anonymous.data["code"] == "not_authenticated"
    assert set(User.objects.filter(pk__in=[target.pk, client_user.pk]).values_list("status", flat=True)) == {"active"}
    assert not AuditEvent.objects.exclude(action__in=["user.registered", "user.login"]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("user_id", ["999999", "abc", "99999999999999999999999", "-1"])
def test_unknown_ids_are_404(support, command, user_id):
    response = token_client(support).post(url(user_id, command), {"reason": "x"}, format="json")

    assert response.status_code == 404
    assert response.data["code"] == "not_found"


@pytest.mark.django_db
def test_the_system_user_is_404_to_the_api(superuser):
    system = User.objects.get(is_system=True)

    response = token_client(superuser).post(url(system.pk, "block"), {"reason": "x"}, format="json")

    assert response.status_code == 404


@pytest.mark.django_db
def test_staff_cannot_block_themselves_through_the_api(support):
    response = token_client(support).post(url(support.pk, "block"), {"reason": "x"}, format="json")

    assert response.status_code == 403
    assert response.data["code"] == "cannot_block_self"


@pytest.mark.django_db
def test_only_a_superuser_blocks_staff_through_the_api(support, superuser):
    colleague = StaffFactory(groups=["Support"])

    refused = token_client(support).post(url(colleague.pk, "block"), {"reason": "x"}, format="json")
    allowed = token_client(superuser).post(url(colleague.pk, "block"), {"reason": "x"}, format="json")

    assert (refused.status_code, refused.data["code"]) == (403, "cannot_block_staff")
    assert (allowed.status_code, allowed.data["status"]) == (200, "blocked")


@pytest.mark.django_db
def test_an_operator_without_block_user_permission_gets_403(client_user):
    finance = StaffFactory(groups=["Finance"])

    response = token_client(finance).post(url(client_user.pk, "block"), {"reason": "x"}, format="json")

    assert response.status_code == 403
    client_user.refresh_from_db()
    assert client_user.status == "active"


@pytest.mark.django_db
def test_close_with_an_open_wallet_is_409(client_user, support):
    WalletFactory(owner=client_user)

    response = token_client(support).post(url(client_user.pk, "close"), {"reason": "left"}, format="json")

    assert response.status_code == 409
    assert response.data["code"] == "user_has_open_wallets"
    client_user.refresh_from_db()
    assert client_user.status == "active"


@pytest.mark.django_db
def test_blocking_a_closed_user_is_409_invalid_state(client_user, support):
    staff = token_client(support)
    staff.post(url(client_user.pk, "close"), {"reason": "left"}, format="json")

    response = staff.post(url(client_user.pk, "block"), {"reason": "late"}, format="json")

    assert (response.status_code, response.data["code"]) == (409, "invalid_state")


@pytest.mark.django_db
def test_get_on_a_command_is_405(client_user, support):
    assert token_client(support).get(url(client_user.pk, "block")).status_code == 405
