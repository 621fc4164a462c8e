"""Rates and fee rules change through exchange_rate_set / fee_rule_create / fee_rule_update, which
hold every rule (SPEC §5, §13); the admin forms and ``load_rates`` only parse and render."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from balances.models import Currency
from transactions import pricing
from transactions.models import ExchangeRate, FeeRule
from transactions.pricing import RateQuote, RatesRefused
from users.tests.factories import StaffFactory
from walletmanager.exceptions import PermissionDeniedError, ValidationFailed
from walletmanager.models import AuditEvent

pytestmark = pytest.mark.django_db


def rates() -> list[tuple]:
    return list(ExchangeRate.objects.order_by("id").values_list("base_id", "quote_id", "rate", "source"))


def test_a_rate_set_by_an_operator_is_stored_and_audited():
    finance = StaffFactory(groups=["Finance"])

    (rate,) = pricing.exchange_rate_set(
        actor=finance, rates=[RateQuote(base="EUR", quote="USD", rate="1.0850", source="desk")]
    )

    assert rates() == [("EUR", "USD", Decimal("1.0850"), "desk")]
    event = AuditEvent.objects.get(action="exchange_rate.created", target_id=str(rate.pk))
    assert event.actor == finance
    assert (event.data["after"]["base"], event.data["after"]["quote"], event.data["after"]["rate"]) == (
        "EUR",
        "USD",
        "1.085",
    )


def test_every_bad_rate_is_named_and_none_is_stored():
    good = RateQuote(base="EUR", quote="USD", rate="1.08")
    given = [
        good,
        RateQuote(base="XYZ", quote="USD", rate="1"),
        good,
        RateQuote(base="EUR", quote="EUR", rate="1"),
        RateQuote(base="EUR", quote="USD", rate="-2"),
        RateQuote(base="EUR", quote="USD", rate="abc"),
    ]

    with pytest.raises(RatesRefused) as refused:
        pricing.exchange_rate_set(actor=None, rates=given)

    assert refused.value.problems == [
        (1, "base", "unknown currency XYZ"),
        (3, "quote", "base and quote are both EUR"),
        (4, "rate", "rate '-2' must be a positive finite number"),
        (5, "rate", "rate 'abc' is not a number"),
    ]
    assert (refused.value.status_code, refused.value.field) == (400, "base")
    assert rates() == [] and not AuditEvent.objects.filter(action="exchange_rate.created").exists()


def test_the_round_trip_rule_is_the_services_for_the_admin_and_the_command_alike(tmp_path):
    pricing.exchange_rate_set(actor=None, rates=[RateQuote(base="EUR", quote="USD", rate="1.12")])
    stored = rates()
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationFailed) as refused:
        pricing.exchange_rate_set(
            actor=StaffFactory(groups=["Finance"]), rates=[RateQuote(base="USD", quote="EUR", rate="0.92")]
        )
    path = tmp_path / "rates.csv"
    path.write_text("USD,EUR,0.92\n")
    with pytest.raises(CommandError) as command_refused:
        call_command("load_rates", str(path), stdout=StringIO())

    assert refused.value.field == "rate" and "would turn 1 USD into" in refused.value.detail
    assert refused.value.detail in str(command_refused.value)
    assert rates() == stored and AuditEvent.objects.count() == events


def test_load_rates_names_every_line_the_service_refuses(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("EUR,USD,1.08\nXYZ,USD,1\nUSD,GBP,0.79\nEUR,USD,0\n")

    with pytest.raises(CommandError) as refused:
        call_command("load_rates", str(path), stdout=StringIO())

    assert str(refused.value) == (
        f"{path}: nothing loaded. line 2: unknown currency XYZ; line 4: rate '0' must be a positive finite number"
    )
    assert rates() == [] and not AuditEvent.objects.exists()


def test_only_operators_who_may_add_rates_set_them():
    with pytest.raises(PermissionDeniedError):
        pricing.exchange_rate_set(
            actor=StaffFactory(groups=["Support"]), rates=[RateQuote(base="EUR", quote="USD", rate="1.08")]
        )
    assert rates() == [] and not AuditEvent.objects.exists()


def test_a_fee_rule_is_created_and_changed_by_the_service_with_its_audit_events():
    finance = StaffFactory(groups=["Finance"])
    usd = Currency.objects.get(code="USD")

    rule = pricing.fee_rule_create(actor=finance, kind="transfer", currency=usd, percent_bps=50)
    pricing.fee_rule_update(actor=finance, rule=rule, percent_bps=75, max_fee=Decimal("5"))

    rule.refresh_from_db()
    assert (rule.percent_bps, rule.max_fee) == (75, Decimal("5"))
    created = AuditEvent.objects.get(action="fee_rule.created", target_id=str(rule.pk))
    changed = AuditEvent.objects.get(action="fee_rule.changed", target_id=str(rule.pk))
    assert created.actor == changed.actor == finance and created.data["after"]["percent_bps"] == "50"
    assert changed.data == {
        "before": {"percent_bps": "50", "max_fee": None},
        "after": {"percent_bps": "75", "max_fee": "5"},
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_fee": Decimal("0.5"), "min_fee": Decimal("1")}, "max_fee"),
        ({"flat": Decimal("0.001")}, "flat"),
        ({"flat": Decimal("-1")}, "flat"),
        ({"percent_bps": 10_001}, "percent_bps"),
        ({"kind": "reversal"}, "kind"),
    ],
)
def test_a_fee_rule_change_the_rules_refuse_leaves_the_rule_and_the_trail_as_they_were(changes, field):
    finance = StaffFactory(groups=["Finance"])
    rule = pricing.fee_rule_create(actor=finance, kind="withdrawal", currency=Currency.objects.get(code="USD"))
    stored = FeeRule.objects.filter(pk=rule.pk).values().get()

    with pytest.raises(ValidationFailed) as refused:
        pricing.fee_rule_update(actor=finance, rule=rule, **changes)

    assert refused.value.field == field
    assert FeeRule.objects.filter(pk=rule.pk).values().get() == stored
    assert not AuditEvent.objects.filter(action="fee_rule.changed").exists()


def test_a_second_active_rule_for_the_same_kind_and_currency_is_refused():
    finance = StaffFactory(groups=["Finance"])
    usd = Currency.objects.get(code="USD")
    pricing.fee_rule_create(actor=finance, kind="withdrawal", currency=usd, flat=Decimal("1"))

    with pytest.raises(ValidationFailed):
        pricing.fee_rule_create(actor=finance, kind="withdrawal", currency=usd, flat=Decimal("2"))

    assert list(FeeRule.objects.values_list("flat", flat=True)) == [Decimal("1")]
    assert AuditEvent.objects.filter(action="fee_rule.created").count() == 1


def test_only_operators_who_may_change_fee_rules_do():
    finance = StaffFactory(groups=["Finance"])
    rule = pricing.fee_rule_create(actor=finance, kind="deposit", currency=None, flat=Decimal("1"))

    with pytest.raises(PermissionDeniedError):
        pricing.fee_rule_update(actor=StaffFactory(groups=["Support"]), rule=rule, flat=Decimal("0"))

    rule.refresh_from_db()
    assert rule.flat == Decimal("1") and not AuditEvent.objects.filter(action="fee_rule.changed").exists()
