"""The authenticator re-enrolment form counts a wrong code towards the staff lockout, is throttled and
is audited like a code at login (SPEC §13): a stolen admin session cannot guess its way to an
authenticator of its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from users.models import AuthenticatorDevice as TOTPDevice
from users.tests.factories import StaffFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.two_factor import verified_staff_login

pytestmark = pytest.mark.django_db

PAGE = "/admin/two-factor/"


def with_rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def failures(user, **filters):
    return AuditEvent.objects.filter(
        action="user.login_failed", target_type="users.user", target_id=str(user.pk), **filters
    )


@pytest.fixture
def operator_session():
    operator = StaffFactory(groups=["Support"])
    browser = Client(REMOTE_ADDR="198.51.100.7")
    verified_staff_login(browser, operator)
    return operator, browser


def test_a_wrong_code_is_audited_with_the_address_and_changes_nothing(operator_session):
    operator, browser = operator_session
    device = TOTPDevice.objects.get(user=operator)

    response = browser.post(PAGE, {"otp_token": "000000"})

    assert response.status_code == 200 and b"wrong or was already used" in response.content
    event = failures(operator).get()
    assert (event.reason, event.data["channel"], event.ip) == ("wrong authenticator code", "reenrol", "198.51.100.7")
    assert TOTPDevice.objects.get(user=operator).pk == device.pk


def test_guesses_are_throttled_like_logins(operator_session):
    """The reproduction: 25 wrong codes in a few seconds. The email's login throttle (5 a minute) stops them."""
    operator, browser = operator_session

    answers = [browser.post(PAGE, {"otp_token": f"{n:06d}"}).status_code for n in range(25)]

    assert answers[:5] == [200] * 5
    assert set(answers[5:]) == {429}
    assert failures(operator, reason="wrong authenticator code").count() == 5


def test_ten_wrong_codes_lock_the_account_and_end_the_session(settings, operator_session):
    with_rates(settings, login_email="100/min", login_ip="100/min")
    operator, browser = operator_session

    answers = [browser.post(PAGE, {"otp_token": f"{n:06d}"}) for n in range(10)]

    assert [answer.status_code for answer in answers[:9]] == [200] * 9
    assert answers[9].status_code == 302 and answers[9]["Location"].startswith("/admin/login/")
    operator.refresh_from_db()
    assert operator.locked_until - timezone.now() > timedelta(minutes=29)
    assert AuditEvent.objects.filter(action="user.account_locked", target_id=str(operator.pk)).count() == 1
    # The session is gone: the page and the admin ask for a login again.
    assert browser.get(PAGE).status_code == 302
    assert browser.get("/admin/").status_code == 302


def test_wrong_codes_here_and_at_login_count_together(settings, operator_session):
    with_rates(settings, login_email="100/min", login_ip="100/min")
    operator, browser = operator_session
    for n in range(9):
        browser.post(PAGE, {"otp_token": f"{n:06d}"})

    response = Client().post(
        "/api/auth/login/",
        {"email": operator.email, "password": "correct-horse-battery-staple", "otp": "999999"},
        content_type="application/json",
    )

    assert (response.status_code, response.json()["code"]) == (403, "account_locked")


def test_a_locked_account_cannot_re_enrol_even_with_the_right_code(settings, operator_session):
    from walletmanager.testing.two_factor import totp_code

    operator, browser = operator_session
    operator.locked_until = timezone.now() + timedelta(minutes=30)
    operator.save(update_fields=["locked_until"])
    device = TOTPDevice.objects.get(user=operator)

    response = browser.post(PAGE, {"otp_token": totp_code(operator)})

    assert response.status_code == 302
    assert TOTPDevice.objects.get(user=operator).pk == device.pk
    assert failures(operator, reason="account locked").count() == 1
