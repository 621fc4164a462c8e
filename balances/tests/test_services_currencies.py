"""Currencies change through currency_create / currency_update, which hold every rule (SPEC §2, §13):
the admin only parses. Once a balance holds a currency its decimals are frozen — the service refuses
them, not only the admin's read-only field."""

from decimal import Decimal

import pytest
from django.test import Client

from balances import services
from balances.models import Currency
from users.tests.factories import StaffFactory, SuperuserFactory, UserFactory
from walletmanager.exceptions import InvalidState, PermissionDeniedError, ValidationFailed
from walletmanager.models import AuditEvent
from walletmanager.testing.two_factor import verified_staff_login
from wallets.services import wallet_create

pytestmark = pytest.mark.django_db


def hold_usd() -> None:
    owner = UserFactory()
    wallet_create(actor=owner, owner=owner, name="Main", balance_kind="regular", currency="USD", pin="1234")


def currency_row(code: str) -> tuple:
    currency = Currency.objects.get(code=code)
    return (
        currency.name,
        currency.decimals,
        currency.is_active,
        currency.withdrawal_approval_threshold,
        currency.daily_outgoing_limit,
    )


def test_the_service_refuses_new_decimals_for_a_currency_a_balance_holds():
    hold_usd()
    before = currency_row("USD")

    with pytest.raises(InvalidState) as refused:
        services.currency_update(
            actor=StaffFactory(groups=["Finance"]), currency=Currency.objects.get(code="USD"), decimals=8, name="Dollar"
        )

    assert refused.value.code == "invalid_state" and "decimals of USD cannot change" in refused.value.detail
    assert currency_row("USD") == before
    assert not AuditEvent.objects.filter(action="currency.changed").exists()


def test_the_same_decimals_and_other_fields_of_a_held_currency_still_change_with_an_audit_event():
    hold_usd()
    finance = StaffFactory(groups=["Finance"])

    services.currency_update(
        actor=finance, currency=Currency.objects.get(code="USD"), decimals=2, withdrawal_approval_threshold=500
    )

    assert Currency.objects.get(code="USD").withdrawal_approval_threshold == Decimal("500")
    event = AuditEvent.objects.get(action="currency.changed", target_id="USD")
    assert event.actor == finance
    assert event.data["after"] == {"withdrawal_approval_threshold": "500"}
    assert "decimals" not in event.data["before"]


def test_an_unused_currency_changes_its_decimals_with_the_values_before_and_after():
    finance = StaffFactory(groups=["Finance"])

    services.currency_update(actor=finance, currency=Currency.objects.get(code="TON"), decimals=6)

    assert Currency.objects.get(code="TON").decimals == 6
    event = AuditEvent.objects.get(action="currency.changed", target_id="TON")
    assert event.data == {"before": {"decimals": "9"}, "after": {"decimals": "6"}}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code": "chf", "name": "Swiss franc", "decimals": 2}, "code"),
        ({"code": "USD", "name": "Again", "decimals": 2}, "code"),
        ({"code": "CHF", "name": "Swiss franc", "decimals": 19}, "decimals"),
        ({"code": "CHF", "name": "", "decimals": 2}, "name"),
    ],
)
def test_a_new_currency_is_checked_by_the_service_and_nothing_is_written_when_refused(fields, field):
    currencies = list(Currency.objects.order_by("code").values_list("code", "name", "decimals"))

    with pytest.raises(ValidationFailed) as refused:
        services.currency_create(actor=StaffFactory(groups=["Finance"]), **fields)

    assert refused.value.field == field
    assert list(Currency.objects.order_by("code").values_list("code", "name", "decimals")) == currencies
    assert not AuditEvent.objects.filter(action__startswith="currency.").exists()


def test_a_new_currency_is_audited_with_its_fields():
    finance = StaffFactory(groups=["Finance"])

    services.currency_create(actor=finance, code="CHF", name="Swiss franc", decimals=2)

    event = AuditEvent.objects.get(action="currency.created", target_id="CHF")
    assert event.actor == finance
    assert event.data["after"]["name"] == "Swiss franc" and event.data["after"]["decimals"] == "2"


def test_only_operators_with_the_currency_permissions_manage_currencies():
    support = StaffFactory(groups=["Support"])

    with pytest.raises(PermissionDeniedError):
        services.currency_create(actor=support, code="CHF", name="Swiss franc", decimals=2)
    with pytest.raises(PermissionDeniedError):
        services.currency_update(actor=support, currency=Currency.objects.get(code="TON"), name="Gram")

    assert not Currency.objects.filter(code="CHF").exists() and Currency.objects.get(code="TON").name == "Toncoin"
    assert not AuditEvent.objects.filter(action__startswith="currency.").exists()


def admin_as(user) -> Client:
    browser = Client()
    verified_staff_login(browser, user)
    return browser


def test_the_admin_never_changes_the_decimals_of_a_held_currency():
    hold_usd()
    before = currency_row("USD")

    response = admin_as(SuperuserFactory()).post(
        "/admin/balances/currency/USD/change/",
        {
            "name": before[0],
            "decimals": "8",
            "is_active": "on",
            "withdrawal_approval_threshold": before[3] or "",
            "daily_outgoing_limit": before[4] or "",
        },
    )

    assert response.status_code == 302
    assert currency_row("USD") == before
    assert not AuditEvent.objects.filter(action="currency.changed").exists()


def test_the_admin_shows_the_services_refusal_on_its_field_and_writes_nothing():
    response = admin_as(SuperuserFactory()).post(
        "/admin/balances/currency/add/", {"code": "USD", "name": "Another dollar", "decimals": "4", "is_active": "on"}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code"] == ["The currency USD already exists."]
    assert Currency.objects.get(code="USD").name != "Another dollar"
    assert not AuditEvent.objects.filter(action__startswith="currency.").exists()
