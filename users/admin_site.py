"""The operators' admin site (SPEC §8, §13): django-otp's ``OTPAdminSite``, so only a session whose
login passed the second factor sees the admin, with our login form (the one login policy) and a
"Two-factor" page where an operator re-enrols their authenticator."""

from __future__ import annotations

import django_otp
from django.contrib import admin, messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django_otp.admin import OTPAdminSite

from users import two_factor
from users.forms import StaffAdminLoginForm, TotpReenrolForm
from walletmanager.admin_secrets import refusing_secret_lookups


class StaffAdminSite(OTPAdminSite):
    site_header = "WalletManager back office"
    site_title = "WalletManager back office"
    index_title = "Operations"
    login_form = StaffAdminLoginForm
    login_template = "admin/staff_login.html"
    # "View site" opens the browsable API (the admin's session signs it in), not Django's default "/".
    site_url = "/api/"
    # Django's navigation sidebar repeats the index and, open by default, leaves a 1 440 px screen too
    # narrow for the money columns of the lists; the header's search and desk links are the way around.
    enable_nav_sidebar = False

    def __init__(self, name: str = "admin") -> None:
        # OTPAdminSite names itself "otpadmin"; the URLs stay ``admin:…``.
        super().__init__(name)

    def register(self, model_or_iterable, admin_class=None, **options):
        # Every admin registered here, django-otp's and knox's included, refuses filters and searches
        # on secret fields (SPEC §13): guarded by construction, not by remembering a mixin.
        super().register(model_or_iterable, refusing_secret_lookups(admin_class or admin.ModelAdmin), **options)

    def login(self, request: HttpRequest, extra_context=None):
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if request.method == "POST" and form is not None and form.is_bound and form.errors:
            status = form.refusal_status()
            if status is not None:
                response.status_code = status
        return response

    def get_urls(self):
        return [path("two-factor/", self.admin_view(self.two_factor_view), name="two_factor"), *super().get_urls()]

    def two_factor_view(self, request: HttpRequest):
        """Re-enrol the operator's own authenticator after a code from the current one."""
        enrolment = None
        status = 200
        if request.method == "POST":
            form = TotpReenrolForm(request.POST, user=request.user, request=request)
            if form.is_valid():
                enrolment = two_factor.user_totp_enrol(actor=request.user, user=request.user)
                # The old device is gone; this session stays verified by the new one.
                django_otp.login(request, enrolment.device)
                messages.success(request, "Your authenticator was replaced. Scan the new code now.")
            else:
                status = form.refusal_status() or 200
                if status == 403:
                    # Locked after too many wrong codes: whoever holds this session does not hold the
                    # authenticator. The session ends with the lock; the login page says why.
                    logout(request)
                    messages.error(request, form.errors["otp_token"][0])
                    return HttpResponseRedirect(reverse("admin:login"))
        else:
            form = TotpReenrolForm(user=request.user, request=request)
        context = {
            **self.each_context(request),
            "title": "Two-factor authentication",
            "form": form,
            "enrolment": enrolment,
        }
        return TemplateResponse(request, "admin/two_factor.html", context, status=status)
