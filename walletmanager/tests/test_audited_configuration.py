"""Who may do what, and what prices money, change through services that leave audit events with the
values before and after (SPEC §13): roles and flags, groups and permissions, currencies, rates and
fee rules, from the admin and from ``load_rates``."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from balances.models import Currency
from transactions.models import ExchangeRate, FeeRule
from users import services as user_services
from users.models import User
from users.tests.factories import StaffFactory, SuperuserFactory, UserFactory
from walletmanager.audit import audit_value
from walletmanager.exceptions import PermissionDeniedError
from walletmanager.models import AuditEvent
from walletmanager.testing.two_factor import verified_staff_login


def admin_as(user) -> Client:
    browser = Client(REMOTE_ADDR="198.51.100.30")
    verified_staff_login(browser, user)
    return browser


@pytest.mark.django_db
def test_a_superuser_promotes_a_user_in_the_admin_and_the_trail_has_before_and_after():
    root, clerk = SuperuserFactory(), UserFactory(first_name="Clara", last_name="Clerk")
    browser = admin_as(root)
    support = Group.objects.get(name="Support")
    permission = Permission.objects.get(codename="block_user")

    # A client's page offers the role only (no permission picker): promote, then grant on the staff page.
    promoted = browser.post(
        f"/admin/users/user/{clerk.pk}/change/",
        {
            "email": clerk.email,
            "first_name": "Clara",
            "last_name": "Clerk",
            "role": "admin",
        },
    )
    granted = browser.post(
        f"/admin/users/user/{clerk.pk}/change/",
        {
            "email": clerk.email,
            "first_name": "Clara",
            "last_name": "Clerk",
            "role": "admin",
            "groups": [support.pk],
            "user_permissions": [permission.pk],
        },
    )

    for response in (promoted, granted):
        assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    clerk.refresh_from_db()
    assert clerk.is_staff and list(clerk.groups.all()) == [support]
    promotion, grant = AuditEvent.objects.filter(action="user.privileges_changed", target_id=str(clerk.pk)).order_by(
        "id"
    )
    assert (grant.actor, grant.ip) == (root, "198.51.100.30")
    assert promotion.data["before"] == {
        "role": "client",
        "is_staff": False,
        "is_superuser": False,
        "groups": [],
        "permissions": [],
    }
    assert grant.data["after"] == {
        "role": "admin",
        "is_staff": True,
        "is_superuser": False,
        "groups": ["Support"],
        "permissions": ["users.block_user"],
    }


@pytest.mark.django_db
def test_saving_a_user_without_changing_privileges_leaves_no_privilege_event():
    root, clerk = SuperuserFactory(), UserFactory(first_name="Clara", last_name="Clerk")

    admin_as(root).post(
        f"/admin/users/user/{clerk.pk}/change/",
        {"email": clerk.email, "first_name": "Clarissa", "last_name": "Clerk", "role": "client"},
    )

    clerk.refresh_from_db()
    assert clerk.first_name == "Clarissa"
    assert not AuditEvent.objects.filter(action="user.privileges_changed").exists()


@pytest.mark.django_db
def test_only_a_superuser_grants_power():
    operator, clerk = StaffFactory(groups=["Support"]), UserFactory()

    with pytest.raises(PermissionDeniedError):
        user_services.user_set_privileges(
            actor=operator, user=clerk, role="admin", is_superuser=True, groups=[], permissions=[]
        )

    clerk.refresh_from_db()
    assert (clerk.role, clerk.is_superuser) == ("client", False)
    assert not AuditEvent.objects.filter(action="user.privileges_changed").exists()


@pytest.mark.django_db
def test_a_superuser_unlocks_a_locked_operator_from_the_admin_and_support_cannot():
    root, support, locked = SuperuserFactory(), StaffFactory(groups=["Support"]), StaffFactory()
    User.objects.filter(pk=locked.pk).update(locked_until=timezone.now() + timedelta(minutes=20))
    action = {"action": "unlock_users", "_selected_action": [locked.pk], "apply": "1", "reason": "verified by phone"}

    refused = admin_as(support).post("/admin/users/user/", action, follow=True)
    locked.refresh_from_db()
    still_locked = locked.locked_until is not None
    done = admin_as(root).post("/admin/users/user/", action, follow=True)

    assert still_locked and b"Only a superuser can block or close staff." in refused.content
    assert f"Unlocked {locked.email}.".encode() in done.content
    locked.refresh_from_db()
    assert locked.locked_until is None
    event = AuditEvent.objects.get(action="user.account_unlocked", target_id=str(locked.pk))
    assert (event.actor, event.reason) == (root, "verified by phone")


@pytest.mark.django_db
def test_a_currency_edit_in_the_admin_is_audited_with_the_fields_that_changed():
    root = SuperuserFactory()
    ton = Currency.objects.get(code="TON")
    unchanged = {
        field.name: "on" if value is True else value
        for field in Currency._meta.concrete_fields
        if field.name != "code" and (value := getattr(ton, field.name)) not in (None, False)
    }
    before = audit_value(ton.withdrawal_approval_threshold)

    response = admin_as(root).post(
        "/admin/balances/currency/TON/change/",
        {**unchanged, "name": "TON coin", "withdrawal_approval_threshold": "250"},
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="currency.changed", target_id="TON")
    assert event.actor == root
    assert event.data == {
        "before": {"name": ton.name, "withdrawal_approval_threshold": before},
        "after": {"name": "TON coin", "withdrawal_approval_threshold": "250"},
    }
    assert Currency.objects.get(code="TON").withdrawal_approval_threshold == 250


@pytest.mark.django_db
def test_a_new_currency_from_the_admin_is_audited():
    root = SuperuserFactory()

    admin_as(root).post(
        "/admin/balances/currency/add/", {"code": "CHF", "name": "Swiss franc", "decimals": "2", "is_active": "on"}
    )

    event = AuditEvent.objects.get(action="currency.created", target_id="CHF")
    assert event.data["after"]["name"] == "Swiss franc" and event.data["after"]["decimals"] == "2"


@pytest.mark.django_db
def test_a_fee_rule_change_is_audited_with_before_and_after():
    root = SuperuserFactory()
    browser = admin_as(root)
    base = {"kind": "transfer", "currency": "USD", "percent_bps": "50", "flat": "0", "min_fee": "0", "is_active": "on"}
    browser.post("/admin/transactions/feerule/add/", base)
    rule = FeeRule.objects.get()

    browser.post(f"/admin/transactions/feerule/{rule.pk}/change/", base | {"percent_bps": "75"})

    changed = AuditEvent.objects.get(action="fee_rule.changed", target_id=str(rule.pk))
    assert changed.actor == root
    assert changed.data == {"before": {"percent_bps": "50"}, "after": {"percent_bps": "75"}}


@pytest.mark.django_db
def test_rates_are_add_only_in_the_admin():
    root = SuperuserFactory()
    browser = admin_as(root)
    browser.post(
        "/admin/transactions/exchangerate/add/", {"base": "EUR", "quote": "USD", "rate": "1.08", "source": "desk"}
    )
    rate = ExchangeRate.objects.get()

    browser.post(
        f"/admin/transactions/exchangerate/{rate.pk}/change/",
        {"base": "EUR", "quote": "USD", "rate": "9", "source": "desk"},
    )

    rate.refresh_from_db()
    assert str(rate.rate).startswith("1.08")
    event = AuditEvent.objects.get(action="exchange_rate.created", target_id=str(rate.pk))
    assert event.data["after"]["rate"].startswith("1.08") and event.data["after"]["base"] == "EUR"


@pytest.mark.django_db
def test_load_rates_leaves_one_audit_event_per_rate(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("base,quote,rate,source\nUSD,EUR,0.91,ecb\nBTC,USD,64000,exchange\n")

    call_command("load_rates", str(path), stdout=StringIO())

    events = AuditEvent.objects.filter(action="exchange_rate.created").order_by("id")
    assert [
        (e.actor, e.data["after"]["base"], e.data["after"]["quote"], e.data["after"]["source"]) for e in events
    ] == [(None, "USD", "EUR", "ecb"), (None, "BTC", "USD", "exchange")]
    assert sorted(events.values_list("target_id", flat=True)) == sorted(
        str(pk) for pk in ExchangeRate.objects.values_list("pk", flat=True)
    )
