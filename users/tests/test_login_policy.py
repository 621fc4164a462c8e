"""The one login policy of SPEC §13 at each entry point: API token, admin, browsable-API session."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, RequestFactory
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from knox.models import AuthToken
from rest_framework.test import APIClient

from users.models import AuthenticatorDevice as TOTPDevice
from users.models import RecoveryCode, RecoveryCodeDevice
from users.tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from walletmanager.client_ip import client_ip
from walletmanager.models import AuditEvent
from walletmanager.testing.two_factor import recovery_code, totp_code, totp_device

API_LOGIN = "/api/auth/login/"
ADMIN_LOGIN = "/admin/login/?next=/admin/"
SESSION_LOGIN = "/api/auth/session/login/"


def with_rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def events(user, action):
    return AuditEvent.objects.filter(target_type="users.user", target_id=str(user.pk), action=action)


# --- client IP (SPEC §13) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "proxies, remote, forwarded, expected",
    [
        (0, "192.0.2.1", "203.0.113.9", "192.0.2.1"),
        (0, "192.0.2.1", None, "192.0.2.1"),
        (1, "10.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (1, "10.0.0.1", None, "10.0.0.1"),
        (2, "10.0.0.2", "6.6.6.6, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
        (1, "10.0.0.1", "not-an-address", "10.0.0.1"),
        (1, "10.0.0.1", " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_ip_believes_only_what_trusted_proxies_appended(settings, proxies, remote, forwarded, expected):
    settings.NUM_PROXIES = proxies
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded

    assert client_ip(RequestFactory().get("/", **meta)) == expected


@pytest.mark.django_db
def test_behind_one_proxy_the_address_it_saw_is_throttled_and_audited_whatever_the_client_prepends(settings):
    settings.NUM_PROXIES = 1
    with_rates(settings, login_ip="3/min", login_email="100/min")

    def attempt(n, real):
        proxy = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"10.9.{n}.1, {real}")
        return proxy.post(API_LOGIN, {"email": f"guess{n}@example.com", "password": "x"})

    codes = [attempt(n, "203.0.113.9").status_code for n in range(4)]
    elsewhere = attempt(9, "203.0.113.10")

    assert codes == [401, 401, 401, 429]
    assert elsewhere.status_code == 401  # another client behind the same proxy is not affected
    ips = list(AuditEvent.objects.filter(action="user.login_failed").order_by("id").values_list("ip", flat=True))
    assert ips == ["203.0.113.9"] * 3 + ["203.0.113.10"]


# --- API login of staff: the second factor ------------------------------------------------------------


@pytest.mark.django_db
def test_staff_api_login_with_a_totp_code_gets_a_one_hour_token_and_is_audited(settings):
    operator = StaffFactory(groups=["Support"])

    response = APIClient(REMOTE_ADDR="198.51.100.4").post(
        API_LOGIN, {"email": operator.email, "password": DEFAULT_PASSWORD, "otp": totp_code(operator)}
    )

    assert response.status_code == 200, response.data
    token = AuthToken.objects.get(user=operator)
    assert abs(token.expiry - timezone.now() - settings.STAFF_TOKEN_TTL) < timedelta(minutes=1)
    assert settings.STAFF_TOKEN_TTL == timedelta(minutes=60)
    login = events(operator, "user.login").get()
    assert (login.ip, login.data) == ("198.51.100.4", {"channel": "api", "second_factor": "totp"})


@pytest.mark.django_db
def test_a_wrong_or_reused_code_is_invalid_otp_and_counts_as_a_failure():
    operator = StaffFactory()
    code = totp_code(operator)
    api = APIClient()
    body = {"email": operator.email, "password": DEFAULT_PASSWORD}

    wrong = api.post(API_LOGIN, {**body, "otp": "000000" if code != "000000" else "111111"})
    right = api.post(API_LOGIN, {**body, "otp": code})
    reused = api.post(API_LOGIN, {**body, "otp": code})

    assert (wrong.status_code, wrong.data["code"]) == (401, "invalid_otp")
    assert right.status_code == 200
    assert (reused.status_code, reused.data["code"]) == (401, "invalid_otp")
    assert list(events(operator, "user.login_failed").order_by("id").values_list("reason", flat=True)) == [
        "wrong authenticator code",
        "wrong authenticator code",
    ]
    assert AuthToken.objects.filter(user=operator).count() == 1


@pytest.mark.django_db
def test_a_recovery_code_works_once():
    operator = StaffFactory()
    code = recovery_code(operator)
    body = {"email": operator.email, "password": DEFAULT_PASSWORD, "otp": code}

    first, second = APIClient().post(API_LOGIN, body), APIClient().post(API_LOGIN, body)

    assert first.status_code == 200
    assert (second.status_code, second.data["code"]) == (401, "invalid_otp")
    assert events(operator, "user.login").get().data["second_factor"] == "recovery code"
    assert code not in [row.code for row in RecoveryCode.objects.all()]


@pytest.mark.django_db
def test_staff_without_an_enrolled_authenticator_are_told_how_to_get_one():
    operator = StaffFactory(authenticator=False)

    response = APIClient().post(API_LOGIN, {"email": operator.email, "password": DEFAULT_PASSWORD, "otp": ""})

    assert response.status_code == 401
    assert response.data["code"] == "otp_required"
    assert "manage.py staff_totp" in response.data["detail"]


@pytest.mark.django_db
def test_a_wrong_password_with_a_right_code_is_still_invalid_credentials():
    operator = StaffFactory()

    response = APIClient().post(
        API_LOGIN, {"email": operator.email, "password": "nope-nope-1", "otp": totp_code(operator)}
    )

    assert response.data == {"code": "invalid_credentials", "detail": "Unable to log in with the provided credentials."}
    assert events(operator, "user.login_failed").get().reason == "wrong password"


# --- staff lockout ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ten_wrong_codes_lock_the_account_even_for_the_right_password_and_code(settings):
    with_rates(settings, login_email="100/min")
    operator = StaffFactory()
    body = {"email": operator.email, "password": DEFAULT_PASSWORD}

    answers = [APIClient().post(API_LOGIN, {**body, "otp": "12345" + str(n % 10)}) for n in range(10)]
    locked = APIClient().post(API_LOGIN, {**body, "otp": totp_code(operator)})

    assert [a.data["code"] for a in answers] == ["invalid_otp"] * 9 + ["account_locked"]
    assert (locked.status_code, locked.data["code"]) == (403, "account_locked")
    operator.refresh_from_db()
    assert operator.locked_until - timezone.now() > timedelta(minutes=29)
    assert events(operator, "user.account_locked").count() == 1
    assert events(operator, "user.login_failed").filter(reason="account locked").count() == 1
    assert not AuthToken.objects.filter(user=operator).exists()


@pytest.mark.django_db
def test_failures_older_than_the_window_do_not_count(settings, monkeypatch):
    with_rates(settings, login_email="100/min")
    operator = StaffFactory()
    for _ in range(9):
        APIClient().post(API_LOGIN, {"email": operator.email, "password": "wrong-guess-1"})
    later = timezone.now() + timedelta(minutes=16)
    monkeypatch.setattr(timezone, "now", lambda: later)

    tenth = APIClient().post(API_LOGIN, {"email": operator.email, "password": "wrong-guess-1"})

    assert tenth.data["code"] == "invalid_credentials"
    operator.refresh_from_db()
    assert operator.locked_until is None


@pytest.mark.django_db
def test_clients_are_throttled_but_never_locked(settings):
    with_rates(settings, login_email="100/min")
    customer = UserFactory()

    codes = [
        APIClient().post(API_LOGIN, {"email": customer.email, "password": "bad-guess-1"}).status_code for _ in range(12)
    ]
    right = APIClient().post(API_LOGIN, {"email": customer.email, "password": DEFAULT_PASSWORD})

    assert codes == [401] * 12
    assert right.status_code == 200
    customer.refresh_from_db()
    assert customer.locked_until is None
    assert not events(customer, "user.account_locked").exists()


@pytest.mark.django_db
def test_unlock_user_lifts_the_lock_and_the_old_failures_stop_counting(settings):
    with_rates(settings, login_email="100/min")
    operator = StaffFactory()
    for _ in range(10):
        APIClient().post(API_LOGIN, {"email": operator.email, "password": "wrong-guess-1"})
    out = StringIO()

    call_command("unlock_user", operator.email.upper(), "--reason", "called the operator", stdout=out)
    wrong_again = APIClient().post(API_LOGIN, {"email": operator.email, "password": "wrong-guess-1"})
    right = APIClient().post(
        API_LOGIN, {"email": operator.email, "password": DEFAULT_PASSWORD, "otp": totp_code(operator)}
    )

    assert out.getvalue().strip() == f"Unlocked {operator.email}."
    assert wrong_again.data["code"] == "invalid_credentials"  # the ten before the unlock no longer count
    assert right.status_code == 200
    unlocked = events(operator, "user.account_unlocked").get()
    assert (unlocked.actor, unlocked.reason) == (None, "called the operator")
    assert unlocked.data["after"] == {"locked_until": None}


@pytest.mark.django_db
def test_unlock_user_of_an_unknown_email_is_one_line():
    with pytest.raises(CommandError, match="user_not_found"):
        call_command("unlock_user", "nobody@example.com", stdout=StringIO())


# --- the admin ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_asks_operators_for_the_code_and_lets_them_in_with_it():
    operator = StaffFactory(groups=["Support"])
    browser = Client(REMOTE_ADDR="198.51.100.8")

    page = browser.get("/admin/login/")
    without = browser.post(ADMIN_LOGIN, {"username": operator.email, "password": DEFAULT_PASSWORD})
    with_code = browser.post(
        ADMIN_LOGIN, {"username": operator.email, "password": DEFAULT_PASSWORD, "otp_token": totp_code(operator)}
    )
    index = browser.get("/admin/")

    assert b'name="otp_token"' in page.content and b"Authenticator code" in page.content
    assert without.status_code == 200 and b"Enter the code from your authenticator app" in without.content
    assert with_code.status_code == 302 and with_code["Location"] == "/admin/"
    assert index.status_code == 200 and b"<title>Operations | WalletManager back office</title>" in index.content
    assert browser.session[DEVICE_ID_SESSION_KEY] == totp_device(operator).persistent_id
    assert events(operator, "user.login").get().data == {"channel": "admin", "second_factor": "totp"}


@pytest.mark.django_db
def test_a_session_without_the_second_factor_does_not_open_the_admin_or_the_staff_api():
    operator = StaffFactory(groups=["Support"])
    browser = Client()
    browser.force_login(operator)  # a password-only session, as before this rule

    assert browser.get("/admin/").status_code == 302
    refused = browser.get("/api/me/")
    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")
    assert operator.email not in refused.content.decode()


@pytest.mark.django_db
def test_a_client_with_the_right_password_gets_the_generic_error_at_the_admin():
    customer = UserFactory()
    browser = Client()

    response = browser.post(ADMIN_LOGIN, {"username": customer.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    assert b"Please enter the correct" in response.content or b"Unable to log in" in response.content
    assert "_auth_user_id" not in browser.session
    assert events(customer, "user.login_failed").get().reason == "not staff"


@pytest.mark.django_db
def test_admin_logout_is_audited():
    operator = StaffFactory()
    browser = Client(REMOTE_ADDR="198.51.100.9")
    browser.post(
        ADMIN_LOGIN, {"username": operator.email, "password": DEFAULT_PASSWORD, "otp_token": totp_code(operator)}
    )

    browser.post("/admin/logout/")

    logout = events(operator, "user.logout").get()
    assert (logout.actor, logout.ip, logout.data) == (operator, "198.51.100.9", {"channel": "session"})


@pytest.mark.django_db
def test_token_logout_is_audited():
    customer = UserFactory()
    api = APIClient()
    token = api.post(API_LOGIN, {"email": customer.email, "password": DEFAULT_PASSWORD}).data["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert api.post("/api/auth/logout/").status_code == 204
    assert events(customer, "user.logout").get().data == {"channel": "api"}


# --- the browsable API's session login ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_session_login_asks_staff_for_the_code_and_audits():
    operator = StaffFactory()
    browser = Client()

    without = browser.post(SESSION_LOGIN, {"username": operator.email, "password": DEFAULT_PASSWORD})
    with_code = browser.post(
        SESSION_LOGIN,
        {
            "username": operator.email,
            "password": DEFAULT_PASSWORD,
            "otp_token": totp_code(operator),
            "next": "/api/me/",
        },
    )
    me = browser.get("/api/me/", HTTP_ACCEPT="application/json")

    assert without.status_code == 200 and b"Enter the code from your authenticator app" in without.content
    assert with_code.status_code == 302
    assert me.status_code == 200 and me.json()["email"] == operator.email
    assert events(operator, "user.login").get().data == {"channel": "session", "second_factor": "totp"}


@pytest.mark.django_db
def test_the_session_login_of_a_blocked_client_says_so_with_403():
    from users.services import user_block

    customer = UserFactory()
    user_block(actor=None, user=customer, reason="fraud")

    response = Client().post(SESSION_LOGIN, {"username": customer.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 403
    assert b"This account is blocked" in response.content


# --- enrolment ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_totp_enrols_with_an_otpauth_uri_and_ten_recovery_codes_and_replaces_old_devices():
    operator = StaffFactory(email="ops@example.com")
    old = totp_device(operator).pk
    out = StringIO()

    call_command("staff_totp", "OPS@example.com", stdout=out)

    lines = out.getvalue().splitlines()
    device = TOTPDevice.objects.get(user=operator)
    assert device.pk != old and device.confirmed
    assert lines[1].strip().startswith("URI:    otpauth://totp/WalletManager%3Aops%40example.com?secret=")
    assert "issuer=WalletManager" in lines[1]
    codes = [line.strip() for line in lines[4:]]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert sorted(row.code for row in RecoveryCode.objects.filter(device__user=operator)) == sorted(codes)
    event = events(operator, "user.totp_enrolled").get()
    assert event.data == {"before": {"devices": 1}, "after": {"totp": 1, "recovery_codes": 10}}
    assert all(code not in str(event.data) for code in codes)


@pytest.mark.django_db
def test_staff_totp_refuses_a_client():
    customer = UserFactory()

    with pytest.raises(CommandError, match="Only staff accounts have a second factor"):
        call_command("staff_totp", customer.email, stdout=StringIO())
    assert not TOTPDevice.objects.filter(user=customer).exists()


@pytest.mark.django_db
def test_an_operator_re_enrols_from_the_admin_after_a_code_of_the_current_authenticator(monkeypatch):
    operator = StaffFactory()
    browser = Client()
    browser.post(
        ADMIN_LOGIN, {"username": operator.email, "password": DEFAULT_PASSWORD, "otp_token": totp_code(operator)}
    )
    old = totp_device(operator)

    refused = browser.post("/admin/two-factor/", {"otp_token": "000000"})
    # A new 30-second step, so the current authenticator shows a code not used by the login.
    import time as time_module

    later = time_module.time() + 30
    monkeypatch.setattr(time_module, "time", lambda: later)
    replaced = browser.post("/admin/two-factor/", {"otp_token": totp_code(operator, at=later)})
    index = browser.get("/admin/")

    assert refused.status_code == 200 and b"wrong or was already used" in refused.content
    assert replaced.status_code == 200
    device = TOTPDevice.objects.get(user=operator)
    assert device.pk != old.pk
    assert device.config_url.encode().replace(b"&", b"&amp;") in replaced.content
    assert replaced.content.count(b"<li><code>") == 10 and b"<svg" in replaced.content
    assert RecoveryCodeDevice.objects.filter(user=operator).count() == 1
    assert index.status_code == 200  # the session stays verified with the new device
    assert events(operator, "user.totp_enrolled").get().actor == operator
