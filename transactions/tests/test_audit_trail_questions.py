"""The audit trail answers an operator's questions (SPEC §8, issue 24): who did what, about what, when —
filters by actor, action, target and date range; each event a sentence ("finance@… approved the
withdrawal 3f2a1b2c of 1,050.00 USD"); its data as a table; no History button on an append-only record."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from balances.models import Currency
from transactions import services
from users.services import user_block
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.audit import audit_record
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, deposit, make_wallet
from walletmanager.testing.two_factor import verified_staff_login
from wallets.services import wallet_update

pytestmark = pytest.mark.django_db

TRAIL = "/admin/walletmanager/auditevent/"


def text_of(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def rows_of(response) -> list[str]:
    page = response.content.decode()
    if 'id="result_list"' not in page:
        return []
    body = page.split('id="result_list"')[1].split("</table>")[0]
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in body.split("<tr")[2:]]


@pytest.fixture
def operators(client):
    support, other = StaffFactory(groups=["Support"]), StaffFactory(groups=["Support"])
    reader = StaffFactory(is_superuser=True)
    verified_staff_login(client, reader)
    return support, other


def test_an_approval_reads_as_a_sentence_with_the_money(client, operators):
    finance = StaffFactory(groups=["Finance"])
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("1000"))
    wallet = make_wallet()
    deposit(wallet, "2000")
    withdrawal = services.transaction_withdraw(
        actor=wallet.owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount="1050", pin=PIN
    )
    services.transaction_approve(actor=finance, transaction=withdrawal, reason="Verified by phone")

    page = client.get(TRAIL).content.decode()

    url = reverse("admin:transactions_transaction_change", args=[withdrawal.pk])
    short = str(withdrawal.pk)[:8]
    assert f'{finance.email} approved <a href="{url}">the withdrawal {short} of 1,050.00 USD</a>' in page
    assert f"{wallet.owner.email} requested" in text_of(client.get(TRAIL))
    assert "withdrawal.approved" not in text_of(client.get(TRAIL))  # no code words in the list


def test_the_trail_filters_by_operator(client, operators):
    support, other = operators
    user_block(actor=support, user=UserFactory(email="ada@example.com"), reason="Chargebacks")
    user_block(actor=other, user=UserFactory(email="bob@example.com"), reason="Court order")

    choices = text_of(client.get(TRAIL)).split("By who")[1].split("By when")[0]
    response = client.get(TRAIL, {"actor": str(support.pk)})

    assert support.email in choices and other.email in choices and "The system" in choices
    rows = rows_of(response)
    assert rows and all(row.count(support.email) for row in rows)
    assert any("blocked the user ada@example.com" in row for row in rows)
    assert not any("bob@example.com" in row for row in rows)


def test_the_trail_filters_by_date_range_both_days_included(client, operators):
    support, _ = operators
    user_block(actor=support, user=UserFactory(email="ada@example.com"), reason="Chargebacks")
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)

    today_rows = rows_of(client.get(TRAIL, {"since": today.isoformat(), "until": today.isoformat()}))
    yesterday_rows = rows_of(client.get(TRAIL, {"since": yesterday.isoformat(), "until": yesterday.isoformat()}))
    page = client.get(TRAIL, {"actor": str(support.pk)}).content.decode()

    assert any("ada@example.com" in row for row in today_rows)
    assert not any("ada@example.com" in row for row in yesterday_rows)
    # One click each: the quick ranges keep the operator chosen.
    assert f"?actor={support.pk}&amp;since={yesterday}&amp;until={yesterday}" in page
    assert f'<input type="hidden" name="actor" value="{support.pk}">' in page


def test_a_malformed_date_or_operator_is_ignored_or_empty_never_an_error(client, operators):
    assert client.get(TRAIL, {"since": "yesterday", "until": "2026-13-45"}).status_code == 200
    response = client.get(TRAIL, {"actor": "not-a-number"})
    assert response.status_code == 200 and rows_of(response) == []


def test_the_action_and_target_filters_speak_words(client, operators):
    support, _ = operators
    user_block(actor=support, user=UserFactory(), reason="Chargebacks")
    audit_record(actor=None, action="exchange_rate.created", target=None, target_type="transactions.exchangerate")

    filters = text_of(client.get(TRAIL)).split("Filter")[1]

    assert "User blocked" in filters and "Exchange rate created" in filters
    assert "Exchange rate" in filters.split("By about")[1]
    assert "transactions.exchangerate" not in filters and "user.blocked" not in filters


def test_an_event_s_data_is_a_table_and_its_page_has_no_history(client, operators):
    support, _ = operators
    wallet = make_wallet()
    wallet_update(actor=wallet.owner, wallet=wallet, name="Holidays")
    event = AuditEvent.objects.get(action="wallet.updated")

    response = client.get(reverse("admin:walletmanager_auditevent_change", args=[event.pk]))
    page = response.content.decode()

    table = page.split('class="audit-data"')[1].split("</table>")[0]
    assert "<th>Before</th><th>After</th>" in table
    assert re.search(r"<th scope='row'>name</th><td>[^<]*</td><td>Holidays</td>", table)
    assert "/history/" not in page
