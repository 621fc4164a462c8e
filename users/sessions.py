"""Short staff sessions (SPEC §13, PCI DSS 8.2.8): a staff session ends after
``STAFF_SESSION_IDLE`` without a request and ``STAFF_SESSION_MAX_AGE`` after its login, whichever
comes first. Client sessions keep Django's defaults.

Django's session framework has one expiry for everybody, so the two clocks live in the session
itself: the login time (set when Django's ``login()`` runs) and the last request seen. Sessions
that carry neither (made before this rule existed) are ended too.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest

STARTED_KEY = "staff_session_started"
LAST_SEEN_KEY = "staff_session_last_seen"
# The last-seen time is written at most this often, so a busy operator does not rewrite the session row
# on every request; the idle timeout is therefore exact to within this many seconds.
LAST_SEEN_RESOLUTION = 30


def session_started(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """``user_logged_in`` receiver: start both clocks of a staff session."""
    if request is None or not getattr(user, "is_staff", False) or not hasattr(request, "session"):
        return
    now = time.time()
    request.session[STARTED_KEY] = now
    request.session[LAST_SEEN_KEY] = now
    request.session.set_expiry(int(settings.STAFF_SESSION_IDLE.total_seconds()))


def staff_session_expiry_reason(request: HttpRequest, *, now: float) -> str | None:
    """Why this staff session must end now, or None while it is fresh."""
    started = request.session.get(STARTED_KEY)
    last_seen = request.session.get(LAST_SEEN_KEY)
    if started is None or last_seen is None:
        return "session without a staff login time"
    if now - started > settings.STAFF_SESSION_MAX_AGE.total_seconds():
        return "staff session lifetime reached"
    if now - last_seen > settings.STAFF_SESSION_IDLE.total_seconds():
        return "staff session idle timeout"
    return None


class StaffSessionMiddleware:
    """After the authentication middleware: end a staff session that is too old or idle (the request
    goes on anonymous, so the admin shows its login page), else note that it was seen."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        session = getattr(request, "session", None)
        # Only a session that names a user can be a staff session: skip the user query otherwise.
        if session is not None and session.get(SESSION_KEY) is not None:
            user = request.user
            if user.is_authenticated and user.is_staff:
                now = time.time()
                reason = staff_session_expiry_reason(request, now=now)
                if reason is not None:
                    request.logout_reason = reason
                    logout(request)
                elif now - session[LAST_SEEN_KEY] >= LAST_SEEN_RESOLUTION:
                    session[LAST_SEEN_KEY] = now
                    session.set_expiry(int(settings.STAFF_SESSION_IDLE.total_seconds()))
        return self.get_response(request)
