"""A change of role, staff or superuser flag, groups or permissions ends the user's sessions and
revokes their tokens, in the same database transaction (SPEC §13): a client token never becomes a
staff token that skipped the second factor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from users import services
from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, StaffFactory, SuperuserFactory, UserFactory
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.services import approval_request
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import make_wallet
from walletmanager.testing.two_factor import verified_staff_login

pytestmark = pytest.mark.django_db


def token_client(user) -> tuple[APIClient, str]:
    response = APIClient().post("/api/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client, response.json()["token"]


def promote_to_finance(user, *, actor) -> User:
    return services.user_set_privileges(
        actor=actor,
        user=user,
        role="admin",
        is_superuser=False,
        groups=[Group.objects.get(name="Finance")],
        permissions=[],
    )


def test_the_attack_a_client_token_cannot_approve_after_its_user_is_promoted():
    root = SuperuserFactory()
    client_user = UserFactory()
    old_token, _ = token_client(client_user)
    assert old_token.get("/api/me/").json()["role"] == "client"
    maker = StaffFactory(groups=["Finance"])
    credit_wallet = make_wallet(owner=UserFactory(), kind="credit")
    request = approval_request(
        actor=maker, action="set_credit_limit", reason="good customer", wallet=credit_wallet, credit_limit="5000"
    )

    promote_to_finance(client_user, actor=root)

    me = old_token.get("/api/me/")
    approve = old_token.post(f"/api/approvals/{request.pk}/approve/", {"reason": "ok"})
    assert (me.status_code, approve.status_code) == (401, 401)
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.PENDING and request.decided_by is None
    assert not AuthToken.objects.filter(user=client_user).exists()
    assert AuditEvent.objects.filter(action="user.privileges_changed", target_id=str(client_user.pk)).exists()


def test_a_privilege_change_ends_the_users_sessions():
    root, operator = SuperuserFactory(), StaffFactory(groups=["Support"])
    browser = Client()
    verified_staff_login(browser, operator)
    assert browser.get("/admin/").status_code == 200
    bystander = Client()
    verified_staff_login(bystander, StaffFactory(groups=["Support"]))

    services.user_set_privileges(
        actor=root, user=operator, role="client", is_superuser=False, groups=[], permissions=[]
    )

    assert browser.get("/admin/").status_code == 302  # to the login page
    assert browser.get("/api/me/").status_code in (401, 403)
    assert bystander.get("/admin/").status_code == 200  # nobody else's session ends


def test_the_change_and_the_revocation_commit_or_roll_back_together():
    root, client_user = SuperuserFactory(), UserFactory()
    old_token, _ = token_client(client_user)
    browser = Client()
    browser.force_login(client_user)
    sessions = Session.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        promote_to_finance(client_user, actor=root)
        assert not AuthToken.objects.filter(user=client_user).exists()  # revoked inside the transaction
        raise RuntimeError("the change fails after the revocation")

    client_user.refresh_from_db()
    assert client_user.role == "client"
    assert old_token.get("/api/me/").status_code == 200
    assert Session.objects.count() == sessions


def test_saving_the_same_privileges_keeps_tokens_and_sessions():
    root, client_user = SuperuserFactory(), UserFactory()
    old_token, _ = token_client(client_user)

    services.user_set_privileges(
        actor=root, user=client_user, role="client", is_superuser=False, groups=[], permissions=[]
    )

    assert old_token.get("/api/me/").status_code == 200


def test_promotion_in_the_admin_logs_the_client_out_of_the_api():
    root, client_user = SuperuserFactory(), UserFactory(first_name="Clara", last_name="Clerk")
    old_token, _ = token_client(client_user)
    browser = Client()
    verified_staff_login(browser, root)

    response = browser.post(
        f"/admin/users/user/{client_user.pk}/change/",
        {"email": client_user.email, "first_name": "Clara", "last_name": "Clerk", "role": "admin"},
    )

    assert response.status_code == 302
    assert old_token.get("/api/me/").status_code == 401


def test_a_superuser_changing_their_own_groups_is_logged_out_cleanly():
    root = SuperuserFactory(first_name="Root", last_name="User")
    browser = Client()
    verified_staff_login(browser, root)

    response = browser.post(
        f"/admin/users/user/{root.pk}/change/",
        {
            "email": root.email,
            "first_name": "Root",
            "last_name": "User",
            "role": "admin",
            "is_superuser": "on",
            "groups": [Group.objects.get(name="Support").pk],
        },
    )

    assert response.status_code == 302, response.content[:500]
    assert browser.get("/admin/").status_code == 302  # asked to log in again


def test_a_staff_users_token_from_before_lives_no_longer_than_a_staff_token(settings):
    """Whatever made the user staff, a token older than STAFF_TOKEN_TTL stops working."""
    client_user = UserFactory()
    old_token, _ = token_client(client_user)
    User.objects.filter(pk=client_user.pk).update(role="admin")  # e.g. a shell, not the service
    AuthToken.objects.filter(user=client_user).update(
        created=timezone.now() - settings.STAFF_TOKEN_TTL - timedelta(minutes=1)
    )

    assert old_token.get("/api/me/").status_code == 401
    assert not AuthToken.objects.filter(user=client_user).exists()


def test_a_fresh_clients_long_lived_token_still_works(settings):
    client_user = UserFactory()
    old_token, _ = token_client(client_user)
    AuthToken.objects.filter(user=client_user).update(created=timezone.now() - timedelta(days=2))

    assert old_token.get("/api/me/").status_code == 200
