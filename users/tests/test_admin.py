import pytest
from django.contrib.messages import get_messages
from django.test import Client

from users.models import User
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.two_factor import verified_staff_login
from wallets.tests.factories import WalletFactory

CHANGELIST = "/admin/users/user/"


def admin_client(user) -> Client:
    client = Client()
    verified_staff_login(client, user)
    return client


def action_names(response) -> set[str]:
    form = response.context["action_form"]  # None when the operator may run no action at all
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


@pytest.mark.django_db
def test_support_sees_the_status_actions_and_finance_does_not():
    support = admin_client(StaffFactory(groups=["Support"]))
    finance = admin_client(StaffFactory(groups=["Finance"]))

    support_page = support.get(CHANGELIST)
    finance_page = finance.get(CHANGELIST)

    assert support_page.status_code == 200
    assert {"block_users", "unblock_users", "close_users"} <= action_names(support_page)
    assert finance_page.status_code == 200  # Finance reads users too
    assert not {"block_users", "unblock_users", "close_users"} & action_names(finance_page)
    assert "delete_selected" not in action_names(support_page)


@pytest.mark.django_db
def test_block_action_asks_for_a_reason_then_blocks_and_audits(support):
    target, other = UserFactory(), UserFactory()
    client = admin_client(support)
    selection = {"action": "block_users", "_selected_action": [target.pk, other.pk]}

    reason_page = client.post(CHANGELIST, selection)

    assert reason_page.status_code == 200
    assert "admin/reason_action.html" in [template.name for template in reason_page.templates]
    assert target.email in reason_page.content.decode()
    target.refresh_from_db()
    assert target.status == "active"  # nothing happens before the reason is given

    without_reason = client.post(CHANGELIST, {**selection, "apply": "1", "reason": ""})
    assert without_reason.status_code == 200 and without_reason.context["form"].errors
    assert not AuditEvent.objects.filter(action="user.blocked").exists()

    done = client.post(CHANGELIST, {**selection, "apply": "1", "reason": "identity theft"}, follow=True)

    assert done.status_code == 200
    assert f"Blocked {target.email} and {other.email}." in [str(message) for message in get_messages(done.wsgi_request)]
    assert set(User.objects.filter(pk__in=[target.pk, other.pk]).values_list("status", flat=True)) == {"blocked"}
    events = AuditEvent.objects.filter(action="user.blocked")
    assert events.count() == 2
    assert {(event.actor_id, event.reason) for event in events} == {(support.pk, "identity theft")}


@pytest.mark.django_db
def test_a_refused_object_is_reported_and_does_not_stop_the_others(support):
    colleague = StaffFactory()
    user_with_wallet, leaver = UserFactory(), UserFactory()
    WalletFactory(owner=user_with_wallet)
    client = admin_client(support)

    blocked = client.post(
        CHANGELIST,
        {"action": "block_users", "_selected_action": [colleague.pk, leaver.pk], "apply": "1", "reason": "x"},
        follow=True,
    )
    closed = client.post(
        CHANGELIST,
        {"action": "close_users", "_selected_action": [user_with_wallet.pk], "apply": "1", "reason": "left"},
        follow=True,
    )

    blocked_messages = [str(message) for message in get_messages(blocked.wsgi_request)]
    assert f"{colleague.email}: refused — Only a superuser can block or close staff." in blocked_messages
    assert f"Blocked {leaver.email}." in blocked_messages
    assert f"{user_with_wallet.email}: refused — Close every wallet of the user first." in [
        str(message) for message in get_messages(closed.wsgi_request)
    ]
    colleague.refresh_from_db()
    leaver.refresh_from_db()
    user_with_wallet.refresh_from_db()
    assert (colleague.status, leaver.status, user_with_wallet.status) == ("active", "blocked", "active")


@pytest.mark.django_db
def test_unblock_action_needs_no_reason(support):
    target = UserFactory(status=User.Status.BLOCKED, block_reason="old")

    admin_client(support).post(
        CHANGELIST, {"action": "unblock_users", "_selected_action": [target.pk], "apply": "1", "reason": ""}
    )

    target.refresh_from_db()
    assert target.status == "active"
    assert AuditEvent.objects.filter(action="user.unblocked", target_id=str(target.pk), actor=support).count() == 1


@pytest.mark.django_db
def test_an_operator_without_the_permission_cannot_run_the_action_by_posting_it(client_user):
    finance = StaffFactory(groups=["Finance"])

    admin_client(finance).post(
        CHANGELIST, {"action": "block_users", "_selected_action": [client_user.pk], "apply": "1", "reason": "x"}
    )

    client_user.refresh_from_db()
    assert client_user.status == "active"


@pytest.mark.django_db
def test_changelist_search_filters_and_change_page_render(superuser):
    UserFactory(email="findme@example.com", first_name="Zelda")
    client = admin_client(superuser)

    found = client.get(CHANGELIST, {"q": "zelda"})
    filtered = client.get(CHANGELIST, {"status__exact": "blocked", "role": "client", "is_superuser__exact": "0"})
    change = client.get(f"{CHANGELIST}{superuser.pk}/change/")

    assert [user.email for user in found.context["cl"].result_list] == ["findme@example.com"]
    assert filtered.status_code == 200 and list(filtered.context["cl"].result_list) == []
    assert change.status_code == 200
    assert "status" not in change.context["adminform"].form.fields  # status changes only through the actions


@pytest.mark.django_db
def test_changelist_query_count_does_not_grow_with_rows(superuser, django_assert_max_num_queries):
    client = admin_client(superuser)
    client.get(CHANGELIST)
    UserFactory.create_batch(30)

    with django_assert_max_num_queries(12):
        assert client.get(CHANGELIST).status_code == 200


@pytest.mark.django_db
def test_superuser_adds_a_user_with_a_hashed_validated_password(superuser):
    client = admin_client(superuser)
    form = {
        "email": "New.Operator@Example.com",
        "first_name": "Nina",
        "last_name": "Simone",
        "role": "admin",
        "password1": "grapefruit-olive-41",
        "password2": "grapefruit-olive-41",
    }

    weak = client.post(f"{CHANGELIST}add/", {**form, "password1": "1234567890", "password2": "1234567890"})
    response = client.post(f"{CHANGELIST}add/", form)

    assert weak.status_code == 200 and weak.context["adminform"].form.errors
    assert response.status_code == 302
    created = User.objects.get(email="new.operator@example.com")
    assert created.check_password("grapefruit-olive-41") and created.role == "admin"
    assert AuditEvent.objects.filter(action="user.registered", target_id=str(created.pk), actor=superuser).count() == 1


@pytest.mark.django_db
def test_admin_add_refuses_an_email_taken_in_another_case(superuser):
    UserFactory(email="taken@example.com")

    response = admin_client(superuser).post(
        f"{CHANGELIST}add/",
        {
            "email": "TAKEN@example.com",
            "first_name": "A",
            "last_name": "B",
            "role": "client",
            "password1": "grapefruit-olive-41",
            "password2": "grapefruit-olive-41",
        },
    )

    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors


@pytest.mark.django_db
def test_an_operator_who_may_edit_users_cannot_grant_staff_or_superuser(client_user):
    from django.contrib.auth.models import Permission

    editor = StaffFactory()
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client = admin_client(editor)

    client.post(
        f"{CHANGELIST}{editor.pk}/change/",
        {"email": editor.email, "first_name": "Eve", "last_name": "Hopper", "role": "admin", "is_superuser": "on"},
    )
    client.post(
        f"{CHANGELIST}{client_user.pk}/change/",
        {"email": client_user.email, "first_name": "Ada", "last_name": "Lovelace", "role": "admin"},
    )

    editor.refresh_from_db()
    client_user.refresh_from_db()
    assert editor.first_name == "Eve" and not editor.is_superuser
    assert client_user.role == "client"


@pytest.mark.django_db
def test_nobody_deletes_users_in_the_admin(superuser, client_user):
    response = admin_client(superuser).post(f"{CHANGELIST}{client_user.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert User.objects.filter(pk=client_user.pk).exists()


@pytest.mark.django_db
def test_admin_actions_enforce_csrf(support, client_user):
    client = Client(enforce_csrf_checks=True)
    verified_staff_login(client, support)

    response = client.post(
        CHANGELIST, {"action": "block_users", "_selected_action": [client_user.pk], "apply": "1", "reason": "x"}
    )

    assert response.status_code == 403
    client_user.refresh_from_db()
    assert client_user.status == "active"


@pytest.mark.django_db
def test_each_user_gets_its_own_outcome_and_the_change_reaches_history_and_recent_actions(support):
    already, target = UserFactory(status="blocked", block_reason="earlier"), UserFactory()
    colleague = StaffFactory()
    client = admin_client(support)

    done = client.post(
        CHANGELIST,
        {
            "action": "block_users",
            "_selected_action": [already.pk, target.pk, colleague.pk],
            "apply": "1",
            "reason": "chargebacks",
        },
        follow=True,
    )

    shown = [str(message) for message in get_messages(done.wsgi_request)]
    assert f"{already.email} was already blocked." in shown
    assert any(message.startswith(f"{colleague.email}: refused — ") for message in shown)
    assert f"Blocked {target.email}." in shown
    history = client.get(f"{CHANGELIST}{target.pk}/history/").content.decode()
    assert "Block selected users: active → blocked. Reason: chargebacks" in history
    assert "Block selected users" not in client.get(f"{CHANGELIST}{already.pk}/history/").content.decode()
    assert target.email in client.get("/admin/").content.decode()  # the index's "Recent actions"


@pytest.mark.django_db
def test_api_tokens_are_listed_and_revoked_never_typed_in_by_hand():
    from knox.models import AuthToken

    from users.tests.factories import SuperuserFactory

    client_user = UserFactory()
    token, _ = AuthToken.objects.create(user=client_user)
    browser = admin_client(SuperuserFactory())

    index = browser.get("/admin/").content.decode()
    listing = browser.get("/admin/knox/authtoken/").content.decode()
    add = browser.get("/admin/knox/authtoken/add/")
    revoked = browser.post(f"/admin/knox/authtoken/{token.pk}/delete/", {"post": "yes"})

    assert "/admin/knox/authtoken/add/" not in index and client_user.email in listing
    assert add.status_code == 403
    assert revoked.status_code == 302 and not AuthToken.objects.filter(user=client_user).exists()
