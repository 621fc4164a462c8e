"""Second factor for staff (SPEC §13): a TOTP authenticator (RFC 6238) and ten single-use recovery
codes, both django-otp devices whose secrets are encrypted at rest (``users.models``).
``staff_totp EMAIL`` enrols an operator; an enrolled operator can
re-enrol from the admin (the "Two-factor" page). Enrolling replaces every earlier device, so a lost
phone is revoked by enrolling the new one."""

from __future__ import annotations

from base64 import b32encode
from dataclasses import dataclass

import segno
from django.db import transaction

from users import signals
from users.models import AuthenticatorDevice, RecoveryCode, RecoveryCodeDevice, User
from walletmanager.exceptions import InvalidState, PermissionDeniedError

RECOVERY_CODES = 10


@dataclass(frozen=True)
class TotpEnrolment:
    device: AuthenticatorDevice
    recovery_codes: list[str]

    @property
    def config_url(self) -> str:
        """The ``otpauth://`` URI an authenticator app scans (or imports)."""
        return self.device.config_url

    @property
    def secret(self) -> str:
        return totp_secret(self.device)

    def qr_svg(self) -> str:
        """The URI as an inline SVG QR code (no image request, nothing for the CSP to refuse)."""
        return segno.make(self.config_url, error="m").svg_inline(scale=4)


def totp_secret(device: AuthenticatorDevice) -> str:
    """The secret as authenticator apps take it when typed in: base32, without padding."""
    return b32encode(device.bin_key).decode().rstrip("=")


def user_totp_enrol(*, actor: User | None, user: User) -> TotpEnrolment:
    """(Re-)enrol a staff account's second factor: a new TOTP secret and ten new recovery codes replace
    every device it had. ``actor`` is None (the system: ``staff_totp``) or the operator themself."""
    if not user.is_staff:
        raise InvalidState("Only staff accounts have a second factor.")
    if actor is not None and actor.pk != user.pk:
        raise PermissionDeniedError("Operators re-enrol their own authenticator; ops use `manage.py staff_totp`.")
    with transaction.atomic():
        replaced = (
            AuthenticatorDevice.objects.filter(user=user).count() + RecoveryCodeDevice.objects.filter(user=user).count()
        )
        AuthenticatorDevice.objects.filter(user=user).delete()
        RecoveryCodeDevice.objects.filter(user=user).delete()
        device = AuthenticatorDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
        recovery = RecoveryCodeDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
        codes = [RecoveryCode.random_code() for _ in range(RECOVERY_CODES)]
        RecoveryCode.objects.bulk_create(RecoveryCode(device=recovery, code=code) for code in codes)
        # Never the secret or the codes: the trail says that it happened, not what they are.
        signals.user_totp_enrolled.send(
            sender=User,
            instance=user,
            actor=actor,
            data={"before": {"devices": replaced}, "after": {"totp": 1, "recovery_codes": RECOVERY_CODES}},
        )
    return TotpEnrolment(device=device, recovery_codes=codes)
