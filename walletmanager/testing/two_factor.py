"""Test helpers for the staff second factor (SPEC §13): real TOTP codes and recovery codes, and a
browser session that counts as verified, as after a login through the admin's form."""

from __future__ import annotations

import time

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP

from users.models import AuthenticatorDevice, RecoveryCode, RecoveryCodeDevice


def totp_device(user) -> AuthenticatorDevice:
    device = AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = AuthenticatorDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return device


def totp_code(user, *, at: float | None = None) -> str:
    """The code the operator's authenticator app shows now (or at the Unix time ``at``), as any app computes it."""
    device = totp_device(user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def recovery_code(user) -> str:
    """A fresh single-use recovery code of ``user`` (each login may use one; a TOTP code works once per 30 s)."""
    device, _ = RecoveryCodeDevice.objects.get_or_create(user=user, name="Recovery codes", defaults={"confirmed": True})
    token = RecoveryCode.random_code()
    RecoveryCode.objects.create(device=device, code=token)
    return token


def verified_staff_login(client, user) -> None:
    """``client.force_login(user)`` plus the mark django-otp leaves in the session after a code."""
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
    session.save()
