"""The browsable API's session login (``/api/auth/session/login/``), in place of DRF's
``rest_framework.urls``: the same URL names, but the form goes through the login policy, so a
session is no way around the API login's throttles, lockout and second factor (SPEC §13)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from users.forms import SessionLoginForm


class RefusalStatusMixin:
    """Answer a throttled login 429 and a locked or blocked one 403, as the API does, not 200."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        status = form.refusal_status()
        if status is not None:
            response.status_code = status
        return response


class SessionLoginView(RefusalStatusMixin, auth_views.LoginView):
    template_name = "rest_framework/login.html"
    authentication_form = SessionLoginForm
    # Without ?next= Django would send the browsable API's user to LOGIN_REDIRECT_URL (/accounts/profile/, a 404).
    next_page = reverse_lazy("api-root")


# Included at ``api/auth/session/`` with the namespace the browsable API's templates use.
app_name = "rest_framework"
urlpatterns = [
    path("login/", SessionLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
