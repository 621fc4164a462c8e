"""Browser login forms: the admin's and the browsable API's. Both hand the credentials to the one
login policy (``users.login``) instead of Django's ``authenticate()``, so the throttles, the staff
lockout, the second factor and the audit events are the API's."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from users import login
from users.serializers import PASSWORD_MAX_LENGTH
from walletmanager.client_ip import client_ip
from walletmanager.exceptions import DomainError

# Refusals that deserve their own HTTP status on the login page, like the API's.
REFUSAL_STATUS = {"throttled": 429, "account_locked": 403, "account_blocked": 403, "account_closed": 403}


def otp_field(*, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label="Authenticator code",
        required=required,
        max_length=16,
        strip=True,
        help_text="Staff: the 6-digit code of your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class LoginPolicyFormMixin:
    """``clean()`` of a Django AuthenticationForm that runs ``users.login.login_verify``."""

    channel: str
    staff_only = False

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is None or not password:
            return self.cleaned_data
        if len(password) > PASSWORD_MAX_LENGTH:
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
        try:
            user, device = login.login_verify(
                email=email,
                password=password,
                otp=self.cleaned_data.get("otp_token"),
                ip=client_ip(self.request) if self.request is not None else None,
                channel=self.channel,
                staff_only=self.staff_only,
            )
        except DomainError as error:
            raise ValidationError(error.detail, code=error.code) from None
        if device is not None:
            # django-otp's user_logged_in receiver stores the device in the session: it is verified.
            user.otp_device = device
        self.user_cache = user
        return self.cleaned_data

    def refusal_status(self) -> int | None:
        for error in self.errors.as_data().get("__all__", []):
            if error.code in REFUSAL_STATUS:
                return REFUSAL_STATUS[error.code]
        return None


class StaffAdminLoginForm(LoginPolicyFormMixin, AdminAuthenticationForm):
    channel = "admin"
    staff_only = True
    otp_token = otp_field()


class SessionLoginForm(LoginPolicyFormMixin, AuthenticationForm):
    channel = "session"
    otp_token = otp_field()


class TotpReenrolForm(forms.Form):
    """Re-enrolling replaces the authenticator: the operator proves they hold the current one first.
    The code goes through the login policy (``login.reenrol_code_verify``): throttled, counted towards
    the staff lockout and audited like a code at login, so a stolen session cannot guess its way to
    an authenticator of its own."""

    otp_token = otp_field(required=True)

    def __init__(self, *args, user, request=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.request = request

    def clean_otp_token(self) -> str:
        code = self.cleaned_data["otp_token"].replace(" ", "")
        try:
            login.reenrol_code_verify(
                user=self.user, code=code, ip=client_ip(self.request) if self.request is not None else None
            )
        except DomainError as error:
            raise ValidationError(error.detail, code=error.code) from None
        return code

    def refusal_status(self) -> int | None:
        for error in self.errors.as_data().get("otp_token", []):
            if error.code in REFUSAL_STATUS:
                return REFUSAL_STATUS[error.code]
        return None
