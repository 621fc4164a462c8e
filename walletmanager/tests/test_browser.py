"""The operators' admin in a real browser: Playwright for Python driving Debian's Chromium.

Each test logs in through the login form of a live server (a thread serving this test database) and
does what an operator does all day. The README's screenshots (``docs/screenshots/``) are taken only on
request: ``WALLETMANAGER_SCREENSHOTS=1 make test PYTEST_ARGS=walletmanager/tests/test_browser.py``.
Without ``/usr/bin/chromium`` (package ``chromium``) the tests are skipped with the reason printed;
CI (``.ci/run``) installs it first, so there they always run. Never ``playwright install``: the
browser is the system's.
"""

from __future__ import annotations

import base64
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections

from transactions.models import Transaction
from transactions.reconciliation import reconcile
from users.models import User
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.models import AuditEvent

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
WIDE = {"width": 1440, "height": 900}  # the operators' usual screen (issue 13)

SUPPORT = ("support@walletmanager.test", "demo-support-password")
FINANCE = ("finance@walletmanager.test", "demo-finance-password")
FINANCE2 = ("finance2@walletmanager.test", "demo-finance2-password")
CLIENT_EMAIL = "client@walletmanager.test"

if not CHROMIUM.exists():
    # CI sets WALLETMANAGER_REQUIRE_BROWSER=1 after installing Chromium: there a missing browser is a failure.
    if os.environ.get("WALLETMANAGER_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"{CHROMIUM} not found but WALLETMANAGER_REQUIRE_BROWSER=1")
    print(f"browser tests skipped: {CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: apt-get install chromium"),
    # The live server thread needs committed rows; serialized_rollback puts the migrations' data
    # (currencies, system wallets, operator groups) back for every test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def demo_data(settings) -> dict[str, str]:
    """``make run``'s demo data; returns the operators' TOTP secrets as seed_demo printed them."""
    # The live server speaks plain HTTP: cookies marked Secure (production) would never come back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.DEBUG = True  # seed_demo creates its published logins on development machines only
    out = io.StringIO()
    call_command(
        "seed_demo",
        "--users",
        "3",
        "--transactions",
        "300",
        "--days",
        "30",
        verbosity=0,
        stdout=out,
        stderr=open("/dev/null", "w"),
    )
    settings.DEBUG = False
    reconcile()
    printed = out.getvalue().split("TOTP secrets")[1].splitlines()[1:]
    return dict(line.split() for line in printed if "@" in line)


def code_from_secret(secret: str) -> str:
    """What an authenticator app shows for a base32 secret (the README's one-line command does the same)."""
    from django_otp.oath import totp

    return f"{totp(base64.b32decode(secret + '=' * (-len(secret) % 8))):06d}"


def csp_violations(page) -> list[str]:
    """Console reports of the browser refusing something under the Content-Security-Policy."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return violations


@pytest.fixture
def browser(monkeypatch) -> Iterator[object]:
    # The live server answers each request in a new thread; with persistent connections (CONN_MAX_AGE)
    # those threads would keep sessions open and the test database could not be dropped at the end.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    if os.environ.get("WALLETMANAGER_REQUIRE_BROWSER") == "1":
        import playwright.sync_api as sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls of the test are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
            # Connections opened while Playwright's loop runs in this thread live in their own context
            # (asgiref's Local); close them here, or the test database cannot be dropped at the end.
            connections.close_all()


@pytest.fixture
def operator_page(browser, live_server, demo_data):
    """Log in as an operator through the admin's login form; returns (page, base url)."""
    pages = []

    def open_as(credentials: tuple[str, str], viewport: dict[str, int] = VIEWPORT):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page_violations = csp_violations(page)
        response = page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.fill("#id_username", credentials[0])
        page.fill("#id_password", credentials[1])
        # The second factor, from the secret seed_demo printed, as an authenticator app computes it.
        page.fill("#id_otp_token", code_from_secret(demo_data[credentials[0]]))
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        pages.append((context, page_violations))
        return page

    yield open_as
    for context, page_violations in pages:
        context.close()
        # Every admin page the test went through worked under the CSP: the browser refused nothing.
        assert page_violations == []


def screenshot(page, name: str) -> None:
    """The README's picture of ``page``, retaken only when asked for (WALLETMANAGER_SCREENSHOTS=1): a
    test run leaves the checkout as it found it."""
    if os.environ.get("WALLETMANAGER_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def run_action(page, action: str, reason: str) -> str:
    """Pick ``action`` for the selected rows, give the reason on the intermediate page, return the messages."""
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.wait_for_selector("textarea[name=reason]")
    page.fill("textarea[name=reason]", reason)
    page.click("input[name=apply]")
    page.wait_for_selector("ul.messagelist")
    return page.inner_text("ul.messagelist")


def test_support_finds_a_client_blocks_them_with_a_reason_and_sees_the_audit_event(operator_page, live_server):
    page = operator_page(SUPPORT)
    assert "Client liabilities" in page.content() or "liabilit" in page.content().lower()
    screenshot(page, "dashboard")

    page.click("a[href='/admin/users/user/']")
    page.fill("#searchbar", CLIENT_EMAIL)
    page.press("#searchbar", "Enter")
    page.wait_for_selector(f"#result_list >> text={CLIENT_EMAIL}")
    screenshot(page, "users")

    page.check("#result_list input[name=_selected_action]")
    messages = run_action(page, "block_users", "Card fraud reported by the issuer")
    assert f"Blocked {CLIENT_EMAIL}." in messages

    page.click(f"#result_list a:text('{CLIENT_EMAIL}')")
    banner = page.locator(".status-banner").first
    assert "This user is blocked" in banner.inner_text()
    assert "Card fraud reported by the issuer" in banner.inner_text()
    screenshot(page, "user-blocked")

    page.click("text=All audit events →")
    page.wait_for_selector("#result_list")
    trail = page.inner_text("#result_list")
    assert f"support@walletmanager.test blocked the user {CLIENT_EMAIL}" in trail
    assert "Card fraud reported by the issuer" in trail
    screenshot(page, "audit-trail")

    client = User.objects.get(email=CLIENT_EMAIL)
    assert client.status == User.Status.BLOCKED
    assert AuditEvent.objects.filter(action="user.blocked", target_id=str(client.pk), actor__email=SUPPORT[0]).exists()


def test_finance_approves_a_withdrawal_and_two_operators_reverse_a_transaction(operator_page, live_server):
    pending = Transaction.objects.filter(status="pending", kind="withdrawal").order_by("created_at").first()
    deposit = (
        Transaction.objects.filter(kind="deposit", status="posted", wallet=pending.wallet, amount__lte=200)
        .order_by("-created_at")
        .first()
    )
    page = operator_page(FINANCE)

    page.goto(f"{live_server.url}/admin/transactions/transaction/?status__exact=pending")
    page.wait_for_selector("#result_list")
    screenshot(page, "pending-approvals")
    page.check(f"#result_list input[name=_selected_action][value='{pending.pk}']")
    messages = run_action(page, "approve_withdrawals", "Verified with the client by phone")
    assert f"Approved withdrawal {str(pending.pk)[:8]} of " in messages

    page.goto(f"{live_server.url}/admin/transactions/transaction/")
    page.fill("#searchbar", str(deposit.pk))
    page.press("#searchbar", "Enter")
    page.wait_for_selector(f"#result_list input[value='{deposit.pk}']")
    page.check(f"#result_list input[name=_selected_action][value='{deposit.pk}']")
    messages = run_action(page, "reverse_transactions", "Duplicate deposit from the bank")
    assert f"Requested the reversal of deposit {str(deposit.pk)[:8]} of " in messages
    deposit.refresh_from_db()
    assert deposit.status == Transaction.Status.POSTED  # one operator alone moves nothing

    # The second Finance operator approves it from the approvals queue.
    request = ApprovalRequest.objects.get(action="reverse", status="pending")
    checker = operator_page(FINANCE2)
    checker.goto(f"{live_server.url}/admin/approvals/approvalrequest/?status__exact=pending")
    checker.wait_for_selector("#result_list")
    screenshot(checker, "approvals")
    checker.check(f"#result_list input[name=_selected_action][value='{request.pk}']")
    messages = run_action(checker, "approve_requests", "Checked against the bank statement")
    assert f"Approved request #{request.pk} (" in messages

    page.goto(f"{live_server.url}/admin/transactions/transaction/")
    page.wait_for_selector("#result_list")
    screenshot(page, "transactions")

    page.goto(f"{live_server.url}/admin/transactions/transaction/{deposit.pk}/change/")
    assert "Reversed" in page.inner_text(".status-banner")
    page.click(f"a[href='/admin/wallets/wallet/{deposit.wallet_id}/change/']")
    page.wait_for_selector(".field-recent_transactions")
    assert str(deposit.wallet.address) in page.content()
    # The part an operator comes for: balance, assets and the linked recent transactions.
    page.locator(".field-balance_link").scroll_into_view_if_needed()
    page.evaluate("document.querySelector('.field-balance_link').scrollIntoView({block: 'start'})")
    screenshot(page, "wallet")

    pending.refresh_from_db()
    deposit.refresh_from_db()
    assert pending.status == Transaction.Status.POSTED
    assert deposit.status == Transaction.Status.REVERSED
    assert reconcile().is_clean


def test_finance_approves_from_the_desk_in_two_clicks(operator_page, live_server):
    withdrawal = Transaction.objects.filter(status="pending", kind="withdrawal").order_by("created_at").first()
    request = ApprovalRequest.objects.filter(status="pending").order_by("created_at").first()
    # finance@ asked for the demo's adjustments; the second Finance operator decides them
    page = operator_page(FINANCE2, viewport=WIDE)

    page.click("#desk-link")
    page.wait_for_selector("#desk-withdrawals .desk-item")
    queue = page.inner_text("#desk-withdrawals")
    assert withdrawal.wallet.owner.email in queue and "USD" in queue
    screenshot(page, "desk")

    page.click(f"#desk-withdrawals a.desk-open[href='/admin/transactions/transaction/{withdrawal.pk}/change/']")
    assert "Pending: waits for approval" in page.inner_text(".status-banner.status-pending")
    page.fill("#id_decision_reason", "Verified with the client by phone")
    page.click("#decide-approve")
    page.wait_for_selector("ul.messagelist")
    assert f"Approved the withdrawal {str(withdrawal.pk)[:8]}" in page.inner_text("ul.messagelist")

    page.click(f"#desk-requests a.desk-open[href='/admin/approvals/approvalrequest/{request.pk}/change/']")
    page.click("#decide-approve")
    page.wait_for_selector("ul.messagelist")
    assert f"Approved request #{request.pk}" in page.inner_text("ul.messagelist")

    withdrawal.refresh_from_db()
    request.refresh_from_db()
    assert withdrawal.status == Transaction.Status.POSTED
    assert (request.status, request.decided_by.email) == ("approved", FINANCE2[0])
    assert AuditEvent.objects.filter(
        action="withdrawal.approved",
        target_id=str(withdrawal.pk),
        reason="Verified with the client by phone",
        actor__email=FINANCE2[0],
    ).exists()
    assert reconcile().is_clean


def test_the_amount_columns_are_visible_at_1440_pixels(operator_page, live_server):
    from playwright.sync_api import expect

    page = operator_page(FINANCE, viewport=WIDE)
    page.goto(f"{live_server.url}/admin/transactions/transaction/")
    page.wait_for_selector("#result_list")

    expect(page.locator("#result_list th.column-money_amount")).to_be_in_viewport(ratio=1)
    expect(page.locator("#result_list th.column-money_fee")).to_be_in_viewport(ratio=1)
    expect(page.locator("#result_list tbody tr").first.locator("td.field-money_amount")).to_be_in_viewport(ratio=1)
    # The other money lists: the last column is on screen, nothing scrolls sideways.
    for path, last_column in [("wallets/wallet/", "created"), ("balances/balanceasset/", "updated")]:
        page.goto(f"{live_server.url}/admin/{path}")
        page.wait_for_selector("#result_list")
        expect(page.locator(f"#result_list th.column-{last_column}")).to_be_in_viewport(ratio=1)


def test_the_header_search_finds_a_client_by_email(operator_page, live_server):
    client = User.objects.get(email=CLIENT_EMAIL)
    page = operator_page(SUPPORT, viewport=WIDE)

    page.fill("#global-search-input", CLIENT_EMAIL.upper())
    page.press("#global-search-input", "Enter")

    page.wait_for_url(f"{live_server.url}/admin/users/user/{client.pk}/change/")
    assert CLIENT_EMAIL in page.inner_text("#content")


def test_support_does_not_see_the_finance_actions(operator_page, live_server):
    page = operator_page(SUPPORT)

    page.goto(f"{live_server.url}/admin/transactions/transaction/")
    page.wait_for_selector("#result_list")
    actions = page.eval_on_selector_all("select[name=action] option", "options => options.map(o => o.value)")

    assert "export_csv" in actions
    assert not {"approve_withdrawals", "reject_withdrawals", "reverse_transactions"} & set(actions)
    assert page.locator("text=New deposit / adjustment").count() == 0


def test_swagger_ui_works_under_the_content_security_policy(browser, live_server):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(20_000)
    violations = csp_violations(page)

    response = page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path")  # the operations, rendered from /api/schema/

    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-eval" not in policy
    paths = page.eval_on_selector_all(".opblock-summary-path", "nodes => nodes.map(n => n.textContent)")
    assert "/api/auth/login/" in paths and "/api/transactions/" in paths
    screenshot(page, "api-docs")
    clean = list(violations)
    # The control: an inline script is refused, and the listener above hears the browser say so.
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    injected = page.evaluate("() => window.injected")
    context.close()
    assert clean == []
    assert injected is None and violations and "inline script" in violations[-1]


def test_ten_wrong_passwords_lock_an_operator_with_a_clear_message(browser, live_server, demo_data, settings):
    # The 5-a-minute email throttle would make a fast typist wait first; the lockout is what is shown here.
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "login_email": "100/min"}}
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")

    for attempt in range(10):
        page.fill("#id_username", SUPPORT[0])
        page.fill("#id_password", f"not-my-password-{attempt}")
        page.fill("#id_otp_token", code_from_secret(demo_data[SUPPORT[0]]))
        page.click("input[type=submit]")
        page.wait_for_selector("p.errornote")
    message = page.inner_text("p.errornote")
    page.fill("#id_username", SUPPORT[0])
    page.fill("#id_password", SUPPORT[1])
    page.click("input[type=submit]")
    page.wait_for_selector("p.errornote")
    after = page.inner_text("p.errornote")
    screenshot(page, "login-locked")
    context.close()

    assert "This account is locked after too many failed logins" in message
    assert "locked" in after
    operator = User.objects.get(email=SUPPORT[0])
    assert operator.locked_until is not None
    assert (
        AuditEvent.objects.filter(action="user.account_locked", target_id=str(operator.pk), ip="127.0.0.1").count() == 1
    )


# --- the operators' second pass (issue 24): every action where the operator stands, at 1 280 px ---------


class Clicks:
    """Counts what the operator clicks (typing is not a click), so a path's length is asserted, not guessed."""

    def __init__(self, page) -> None:
        self.page = page
        self.count = 0

    def click(self, selector: str) -> None:
        self.count += 1
        self.page.click(selector)


def test_support_blocks_a_client_from_their_page_in_three_clicks(operator_page, live_server):
    client = User.objects.get(email=CLIENT_EMAIL)
    page = operator_page(SUPPORT)
    clicks = Clicks(page)

    page.fill("#global-search-input", CLIENT_EMAIL)
    page.press("#global-search-input", "Enter")  # the header search jumps to the one exact match
    page.wait_for_url(f"{live_server.url}/admin/users/user/{client.pk}/change/")
    # The client's wallets and what each may spend, without scrolling.
    from playwright.sync_api import expect

    expect(page.locator("#wallets-panel")).to_be_in_viewport()
    # Block asks for the reason first: the browser refuses to send it empty.
    clicks.click("#decide-block")
    assert page.evaluate("document.querySelector('#id_decision_reason').validity.valueMissing")
    client.refresh_from_db()
    assert client.status == User.Status.ACTIVE
    page.fill("#id_decision_reason", "Card fraud reported by the issuer")
    clicks.click("#decide-block")
    page.wait_for_selector("ul.messagelist")

    assert f"Blocked {CLIENT_EMAIL}." in page.inner_text("ul.messagelist")
    assert "This user is blocked" in page.inner_text(".status-banner")
    screenshot(page, "user-blocked")
    assert clicks.count <= 3
    client.refresh_from_db()
    assert client.status == User.Status.BLOCKED
    assert AuditEvent.objects.filter(action="user.blocked", target_id=str(client.pk), actor__email=SUPPORT[0]).exists()


def test_support_blocks_a_wallet_and_freezes_its_balance_on_the_wallet_page(operator_page, live_server):
    from playwright.sync_api import expect

    wallet = User.objects.get(email=CLIENT_EMAIL).wallets.select_related("balance").order_by("created_at").first()
    page = operator_page(SUPPORT)
    page.goto(f"{live_server.url}/admin/wallets/wallet/{wallet.pk}/change/")

    # The balance is the first thing on the page, above the fold at 1 280 × 800.
    expect(page.locator(".field-assets")).to_be_in_viewport()
    screenshot(page, "wallet")
    page.fill("#id_decision_reason", "Account takeover suspected")
    page.click("#decide-freeze")
    page.wait_for_selector("ul.messagelist")
    assert f"Froze the balance of {wallet.address}." in page.inner_text("ul.messagelist")
    assert page.url == f"{live_server.url}/admin/wallets/wallet/{wallet.pk}/change/"
    page.fill("#id_decision_reason", "Account takeover suspected")
    page.click("#decide-block")
    page.wait_for_selector("#decide-unblock")

    wallet.refresh_from_db()
    wallet.balance.refresh_from_db()
    assert (wallet.status, wallet.balance.status) == ("blocked", "frozen")


def test_reverse_from_the_transaction_page_then_a_second_operator_approves_on_the_desk(operator_page, live_server):
    deposit = (
        Transaction.objects.filter(kind="deposit", status="posted", amount__lte=200, wallet__owner__email=CLIENT_EMAIL)
        .order_by("-created_at")
        .first()
    )
    maker = operator_page(FINANCE)
    maker.goto(f"{live_server.url}/admin/transactions/transaction/{deposit.pk}/change/")
    assert "approves it on the approvals desk" in maker.inner_text("#decision-note-reverse")
    maker.fill("#id_decision_reason", "Duplicate deposit from the bank")
    maker.click("#decide-reverse")
    maker.wait_for_selector("ul.messagelist")
    assert "Reversal requested by finance@walletmanager.test" in maker.inner_text(".status-banner.status-pending")
    deposit.refresh_from_db()
    assert deposit.status == Transaction.Status.POSTED  # one operator alone moves nothing

    request = ApprovalRequest.objects.get(action="reverse", status="pending", target_id=str(deposit.pk))
    checker = operator_page(FINANCE2)
    checker.click("#desk-link")
    row = checker.locator(f"#desk-requests tr:has(a[href='/admin/approvals/approvalrequest/{request.pk}/change/'])")
    assert CLIENT_EMAIL in row.inner_text() and "USD" in row.inner_text()  # not "—": the desk knows what it moves
    checker.click(f"#desk-requests a.desk-open[href='/admin/approvals/approvalrequest/{request.pk}/change/']")
    context = checker.inner_text("#decision-context")
    assert CLIENT_EMAIL in context and "Available now" in context
    screenshot(checker, "approval-request")
    checker.click("#decide-approve")
    checker.wait_for_selector("ul.messagelist")
    assert f"Approved request #{request.pk}" in checker.inner_text("ul.messagelist")

    deposit.refresh_from_db()
    assert deposit.status == Transaction.Status.REVERSED
    assert reconcile().is_clean


def test_finance_approves_a_withdrawal_on_its_page_seeing_balance_history_and_threshold(operator_page, live_server):
    withdrawal = Transaction.objects.filter(status="pending", kind="withdrawal").order_by("created_at").first()
    page = operator_page(FINANCE)
    page.goto(f"{live_server.url}/admin/transactions/transaction/{withdrawal.pk}/change/")

    context = page.inner_text("#decision-context")
    assert "Available now" in context and "USD" in page.inner_text("#context-available")
    assert "wait for Finance's approval" in page.inner_text("#context-rule")
    assert page.locator("#context-history li").count() >= 1
    approve, reject = page.locator("#decide-approve"), page.locator("#decide-reject")
    # Two buttons that cannot be mistaken for each other.
    colours = [
        button.evaluate("b => getComputedStyle(b).backgroundColor + getComputedStyle(b).color")
        for button in (approve, reject)
    ]
    assert colours[0] != colours[1]
    screenshot(page, "withdrawal")
    # Reject asks for its reason first.
    reject.click()
    assert page.evaluate("document.querySelector('#id_decision_reason').validity.valueMissing")
    approve.click()
    page.wait_for_url(f"{live_server.url}/admin/desk/")

    withdrawal.refresh_from_db()
    assert withdrawal.status == Transaction.Status.POSTED


def test_yesterday_s_actions_of_one_operator_in_three_clicks(operator_page, live_server):
    from datetime import timedelta

    from django.utils import timezone
    from playwright.sync_api import expect

    page = operator_page(SUPPORT)
    clicks = Clicks(page)
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()

    clicks.click("a[href='/admin/walletmanager/auditevent/']")
    clicks.click(f"details[data-filter-title='who'] a:text('{FINANCE[0]}')")
    clicks.click("details[data-filter-title='when'] a:text('Yesterday')")
    page.wait_for_selector("#changelist")

    finance = User.objects.get(email=FINANCE[0])
    assert f"actor={finance.pk}" in page.url and f"since={yesterday}" in page.url and f"until={yesterday}" in page.url
    assert clicks.count <= 3
    # Today's list of the same operator reads as sentences; nothing is cut off at 1 280 px.
    page.click("details[data-filter-title='when'] a:text('Today')")
    page.wait_for_selector("#result_list")
    assert "finance@walletmanager.test asked for" in page.inner_text("#result_list")  # seed_demo's requests
    expect(page.locator("#result_list th.column-ip")).to_be_in_viewport(ratio=1)
    screenshot(page, "audit-trail")


ADMIN = ("admin@walletmanager.test", "demo-admin-password")
# Overflowing list boxes, as {url: (table width, box width)}: a table wider than its box is cut off.
OVERFLOW_JS = """() => {
    const box = document.querySelector('#changelist .results') || document.querySelector('#content-main');
    const table = document.querySelector('#result_list') || box;
    return [table.scrollWidth, box.clientWidth, document.documentElement.scrollWidth, window.innerWidth];
}"""


def overflowing(page, live_server, paths: list[str]) -> dict[str, tuple[int, ...]]:
    found = {}
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        table, box, document, window = page.evaluate(OVERFLOW_JS)
        if table > box + 1 or document > window + 1:
            found[path] = (table, box, document, window)
    return found


@pytest.mark.parametrize("viewport", [VIEWPORT, WIDE], ids=["1280", "1440"])
def test_no_list_or_object_page_is_cut_off(operator_page, live_server, viewport):
    page = operator_page(ADMIN, viewport=viewport)
    changelists = sorted(
        set(
            page.eval_on_selector_all(
                "#content-main table a[href$='/']:not([href$='/add/'])",
                "links => links.map(a => a.getAttribute('href'))",
            )
        )
    )
    assert len(changelists) >= 12
    wallet = User.objects.get(email=CLIENT_EMAIL).wallets.order_by("created_at").first()
    withdrawal = Transaction.objects.filter(status="pending", kind="withdrawal").first()
    request = ApprovalRequest.objects.filter(status="pending").first()
    event = AuditEvent.objects.order_by("-id").first()
    object_pages = [
        f"/admin/users/user/{wallet.owner_id}/change/",
        f"/admin/wallets/wallet/{wallet.pk}/change/",
        f"/admin/balances/balance/{wallet.balance.pk}/change/",
        f"/admin/transactions/transaction/{withdrawal.pk}/change/",
        f"/admin/approvals/approvalrequest/{request.pk}/change/",
        f"/admin/walletmanager/auditevent/{event.pk}/change/",
        "/admin/desk/",
        "/admin/",
    ]

    assert overflowing(page, live_server, changelists + object_pages) == {}
    # The header's links stay on one line.
    page.goto(f"{live_server.url}/admin/")
    assert page.evaluate("document.querySelector('#user-tools').getBoundingClientRect().height") < 30
