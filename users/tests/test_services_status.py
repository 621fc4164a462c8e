import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from knox.models import AuthToken

from users import services
from users.exceptions import CannotBlockSelf, CannotBlockStaff, UserHasOpenWallets
from users.models import User
from users.tests.factories import StaffFactory, SuperuserFactory, UserFactory
from walletmanager.exceptions import InvalidState, PermissionDeniedError, ValidationFailed
from walletmanager.models import AuditEvent
from walletmanager.testing.clients import token_client
from wallets.models import Wallet
from wallets.tests.factories import WalletFactory


def audit_events(user, action=None):
    events = AuditEvent.objects.filter(target_type="users.user", target_id=str(user.pk))
    return events.filter(action=action) if action else events.exclude(action__in=["user.registered", "user.login"])


@pytest.mark.django_db
def test_block_sets_status_revokes_every_token_and_audits_once(client_user, support):
    first, second = token_client(client_user), token_client(client_user)

    user = services.user_block(actor=support, user=client_user, reason="chargeback fraud")

    assert (user.status, user.block_reason) == ("blocked", "chargeback fraud")
    assert user.blocked_at is not None
    assert not AuthToken.objects.filter(user=client_user).exists()
    assert first.get("/api/me/").status_code == 401
    assert second.get("/api/me/").status_code == 401
    event = audit_events(client_user).get()
    assert (event.actor, event.action, event.reason) == (support, "user.blocked", "chargeback fraud")
    assert event.data["before"]["status"] == "active" and event.data["after"]["status"] == "blocked"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_block_ends_the_users_sessions_and_keeps_others(support):
    victim, bystander = UserFactory(), UserFactory()
    victim_browser, bystander_browser = Client(), Client()
    victim_browser.force_login(victim)
    bystander_browser.force_login(bystander)
    assert Session.objects.count() == 2

    services.user_block(actor=support, user=victim, reason="account takeover")

    assert Session.objects.count() == 1
    refused = victim_browser.get("/api/me/")
    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")
    bystander_me = bystander_browser.get("/api/me/")
    assert (bystander_me.status_code, bystander_me.json()["email"]) == (200, bystander.email)
    # Unblocking does not resurrect the old session.
    services.user_unblock(actor=support, user=victim, reason="cleared")
    refused = victim_browser.get("/api/me/")
    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")
    assert Session.objects.count() == 1


@pytest.mark.django_db
def test_blocking_twice_is_a_no_op_with_a_single_audit_event(client_user, support):
    services.user_block(actor=support, user=client_user, reason="first")
    user = services.user_block(actor=support, user=client_user, reason="second")

    assert user.block_reason == "first"
    assert audit_events(client_user).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   ", None])
def test_block_and_close_need_a_reason(client_user, support, reason):
    with pytest.raises(ValidationFailed) as error:
        services.user_block(actor=support, user=client_user, reason=reason)
    assert error.value.field == "reason"
    with pytest.raises(ValidationFailed):
        services.user_close(actor=support, user=client_user, reason=reason)
    client_user.refresh_from_db()
    assert client_user.status == "active"
    assert not audit_events(client_user).exists()


@pytest.mark.django_db
def test_unblock_restores_active_and_audits(client_user, support):
    services.user_block(actor=support, user=client_user, reason="check")

    user = services.user_unblock(actor=support, user=client_user, reason="documents received")
    services.user_unblock(actor=support, user=client_user)  # already active: nothing happens

    assert (user.status, user.block_reason, user.blocked_at) == ("active", "", None)
    event = audit_events(client_user, "user.unblocked").get()
    assert (event.actor, event.reason) == (support, "documents received")
    assert audit_events(client_user).count() == 2


@pytest.mark.django_db
def test_staff_cannot_block_themselves(support, superuser):
    for actor in (support, superuser):
        with pytest.raises(CannotBlockSelf):
            services.user_block(actor=actor, user=actor, reason="oops")
        with pytest.raises(CannotBlockSelf):
            services.user_close(actor=actor, user=actor, reason="oops")
        actor.refresh_from_db()
        assert actor.status == "active"


@pytest.mark.django_db
def test_only_a_superuser_blocks_staff(support, superuser):
    colleague = StaffFactory(groups=["Support"])
    other_root = SuperuserFactory()

    with pytest.raises(CannotBlockStaff):
        services.user_block(actor=support, user=colleague, reason="rogue")
    with pytest.raises(CannotBlockStaff):
        services.user_block(actor=support, user=other_root, reason="rogue")
    colleague.refresh_from_db()
    assert colleague.status == "active"

    assert services.user_block(actor=superuser, user=colleague, reason="rogue").status == "blocked"
    assert services.user_block(actor=superuser, user=other_root, reason="left").status == "blocked"


@pytest.mark.django_db
def test_operators_without_block_user_permission_are_refused(client_user):
    finance = StaffFactory(groups=["Finance"])

    with pytest.raises(PermissionDeniedError):
        services.user_block(actor=finance, user=client_user, reason="not my job")
    client_user.refresh_from_db()
    assert client_user.status == "active"


@pytest.mark.django_db
def test_a_closed_user_cannot_be_blocked_or_unblocked(client_user, support):
    services.user_close(actor=support, user=client_user, reason="customer left")

    with pytest.raises(InvalidState):
        services.user_block(actor=support, user=client_user, reason="late")
    with pytest.raises(InvalidState):
        services.user_unblock(actor=support, user=client_user)
    client_user.refresh_from_db()
    assert client_user.status == "closed"


@pytest.mark.django_db
def test_close_is_refused_while_a_wallet_is_open_and_allowed_once_all_are_closed(support):
    user = UserFactory()
    open_wallet = WalletFactory(owner=user)
    WalletFactory(owner=user, status=Wallet.Status.CLOSED)
    blocked_wallet = WalletFactory(owner=user, status=Wallet.Status.BLOCKED)

    with pytest.raises(UserHasOpenWallets):
        services.user_close(actor=support, user=user, reason="customer left")
    Wallet.objects.filter(pk=open_wallet.pk).update(status=Wallet.Status.CLOSED)
    with pytest.raises(UserHasOpenWallets):  # a blocked wallet is not closed
        services.user_close(actor=support, user=user, reason="customer left")
    user.refresh_from_db()
    assert user.status == "active"
    assert not audit_events(user).exists()

    Wallet.objects.filter(pk=blocked_wallet.pk).update(status=Wallet.Status.CLOSED)
    closed = services.user_close(actor=support, user=user, reason="customer left")

    assert closed.status == "closed" and closed.closed_at is not None
    event = audit_events(user).get()
    assert (event.actor, event.action, event.reason) == (support, "user.closed", "customer left")


@pytest.mark.django_db
def test_close_revokes_tokens_keeps_the_email_taken_and_is_terminal(api_client, client_user, support):
    client = token_client(client_user)

    services.user_close(actor=support, user=client_user, reason="gdpr")
    again = services.user_close(actor=support, user=client_user, reason="twice")

    assert again.status == "closed"
    assert audit_events(client_user).count() == 1
    assert client.get("/api/me/").status_code == 401
    response = api_client.post(
        "/api/auth/register/",
        {"email": client_user.email, "password": "violet-tangerine-87", "first_name": "A", "last_name": "B"},
    )
    assert response.status_code == 400
    assert response.json()["fields"]["email"] == [
        {"code": "email_taken", "detail": "A user with this email already exists."}
    ]


@pytest.mark.django_db
def test_the_system_user_cannot_be_blocked_or_closed(superuser):
    system = User.objects.get(is_system=True)

    with pytest.raises(InvalidState):
        services.user_block(actor=superuser, user=system, reason="x")
    with pytest.raises(InvalidState):
        services.user_close(actor=None, user=system, reason="x")
