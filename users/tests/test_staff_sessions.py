"""Short staff sessions (SPEC §13): 15 idle minutes, 12 hours in all; clients keep Django's default."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from users import sessions
from users.tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from walletmanager.models import AuditEvent
from walletmanager.testing.two_factor import totp_code


def logged_in_operator() -> tuple[Client, object]:
    operator = StaffFactory(groups=["Support"])
    browser = Client(REMOTE_ADDR="198.51.100.20")
    response = browser.post(
        "/admin/login/?next=/admin/",
        {"username": operator.email, "password": DEFAULT_PASSWORD, "otp_token": totp_code(operator)},
    )
    assert response.status_code == 302
    return browser, operator


REAL_TIME = time.time


def at(monkeypatch, seconds_from_now: float) -> None:
    """The staff session's clock, ``seconds_from_now`` after the real now."""
    moment = REAL_TIME() + seconds_from_now
    monkeypatch.setattr(sessions.time, "time", lambda: moment)


@pytest.mark.django_db
def test_a_staff_session_ends_after_fifteen_idle_minutes_and_says_why_in_the_trail(monkeypatch):
    browser, operator = logged_in_operator()

    at(monkeypatch, 14 * 60)
    still_in = browser.get("/admin/")
    at(monkeypatch, 14 * 60 + 16 * 60)
    timed_out = browser.get("/admin/")

    assert still_in.status_code == 200
    assert timed_out.status_code == 302 and timed_out["Location"].startswith("/admin/login/")
    assert "_auth_user_id" not in browser.session
    logout = AuditEvent.objects.get(action="user.logout", target_id=str(operator.pk))
    assert (logout.reason, logout.ip) == ("staff session idle timeout", "198.51.100.20")


@pytest.mark.django_db
def test_activity_keeps_a_staff_session_alive_but_not_past_twelve_hours(monkeypatch):
    browser, operator = logged_in_operator()

    answers = []
    for minutes in range(10, 12 * 60, 10):  # a request every ten minutes, all day
        at(monkeypatch, minutes * 60)
        answers.append(browser.get("/admin/").status_code)
    at(monkeypatch, 12 * 60 * 60 + 60)
    expired = browser.get("/admin/")

    assert set(answers) == {200}
    assert expired.status_code == 302
    assert (
        AuditEvent.objects.get(action="user.logout", target_id=str(operator.pk)).reason
        == "staff session lifetime reached"
    )


@pytest.mark.django_db
def test_the_session_cookie_of_staff_expires_with_the_idle_timeout_and_clients_keep_the_default(settings):
    browser, _ = logged_in_operator()
    customer_browser = Client()
    customer_browser.post("/api/auth/session/login/", {"username": UserFactory().email, "password": DEFAULT_PASSWORD})

    assert browser.session.get_expiry_age() == 15 * 60
    assert customer_browser.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
