"""The wallet's admin page offers its statement (SPEC §14): a GET form for the statement API, which
staff reach with their admin session."""

import csv
import io

import pytest
from django.test import Client
from django.utils import timezone

from transactions.models import Entry
from walletmanager.testing.ledger import deposit, make_wallet
from walletmanager.testing.two_factor import verified_staff_login

pytestmark = pytest.mark.django_db


def test_the_wallet_page_has_a_statement_form_that_downloads_with_the_admin_session(staff, client_user):
    wallet = make_wallet(owner=client_user, balance_kind="multi", currency=None)
    deposit(wallet, "12.5", "USD")
    deposit(wallet, "3", "EUR")
    browser = Client()
    verified_staff_login(browser, staff)

    page = browser.get(f"/admin/wallets/wallet/{wallet.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    url = f"/api/wallets/{wallet.pk}/statement/"
    assert '<form id="wallet-statement" method="get" target="_blank"></form>' in html
    assert html.index('id="wallet-statement"') > html.index("</form>")  # not nested in the change form
    assert '<option value="EUR">EUR</option><option value="USD">USD</option>' in html
    for value in ("csv", "pdf", "json"):
        assert f'form="wallet-statement" formaction="{url}" name="format" value="{value}"' in html
    assert f'name="from" value="{timezone.localdate().replace(day=1).isoformat()}"' in html

    # What the CSV button sends, with the session the admin page was served under.
    today = timezone.localdate().isoformat()
    download = browser.get(url, {"currency": "USD", "from": today, "to": today, "format": "csv"})
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    entry = Entry.objects.get(wallet=wallet, currency_id="USD")
    assert rows[1:] == [
        ["1", entry.created_at.isoformat(), str(entry.transaction_id), "deposit", "Deposit", "12.50", "12.50", "USD"]
    ]
    # "View": the browser asks for HTML and gets the browsable API's page of the statement.
    view = browser.get(url, {"currency": "EUR", "from": today, "to": today, "format": "json"}, HTTP_ACCEPT="text/html")
    assert view.status_code == 200 and view["Content-Type"].startswith("text/html")
    assert "&quot;closing_balance&quot;: &quot;3.00&quot;" in view.content.decode()


def test_a_wallet_without_assets_says_so(staff, client_user):
    wallet = make_wallet(owner=client_user, balance_kind="multi", currency=None)
    browser = Client()
    verified_staff_login(browser, staff)

    page = browser.get(f"/admin/wallets/wallet/{wallet.pk}/change/")

    assert page.status_code == 200 and b"No assets, so no statement." in page.content
