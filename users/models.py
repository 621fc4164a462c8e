import hmac

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_static import models as static_models
from django_otp.plugins.otp_totp import models as totp_models

from walletmanager.encrypted_fields import EncryptedTextField

# Letters of any script, spaces, hyphens and apostrophes; one character class, so matching is linear.
NAME_VALIDATOR = RegexValidator(
    r"^(?:[^\W\d_]|[ '\-])+$",
    "Use letters, spaces, hyphens and apostrophes only.",
    code="invalid_name",
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("role", User.Role.CLIENT)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields):
        extra_fields["role"] = User.Role.ADMIN
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email=str(username).lower())


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in by email: a client of the wallet provider or a staff operator (role admin)."""

    class Role(models.TextChoices):
        CLIENT = "client", "Client"
        ADMIN = "admin", "Admin"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BLOCKED = "blocked", "Blocked"
        CLOSED = "closed", "Closed"

    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=150, validators=[NAME_VALIDATOR])
    last_name = models.CharField(max_length=150, validators=[NAME_VALIDATOR])
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CLIENT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    block_reason = models.TextField(blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    is_system = models.BooleanField(default=False, help_text="The owner of the system wallets; can never log in.")
    # The staff lockout of SPEC §13 (users.login). Failures themselves are the audit trail's
    # ``user.login_failed`` events; these two fields say which of them still count.
    locked_until = models.DateTimeField(
        null=True, blank=True, help_text="A locked staff account cannot log in before this instant."
    )
    login_failures_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "Failed logins before this instant no longer count towards the lockout (a login, a lock or an unlock)."
        ),
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="user_email_lowercase"),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "blocked", "closed"]), name="user_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(role__in=["client", "admin"]), name="user_role_valid"),
            models.CheckConstraint(
                condition=~models.Q(status="closed") | models.Q(closed_at__isnull=False),
                name="user_closed_has_closed_at",
            ),
        ]
        indexes = [models.Index(fields=["status", "role"], name="user_status_role_idx")]
        permissions = [("block_user", "Can block, unblock and close users")]

    def __str__(self) -> str:
        return self.email

    # Django's auth, the admin and knox read these two; they follow role and status so that the
    # model has one source of truth: blocking a user ends their sessions and tokens at once.
    @property
    def is_staff(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE and not self.is_system

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name


# --- the second factor of staff (SPEC §13): django-otp devices whose secrets are encrypted at rest ---
#
# django-otp's own TOTPDevice and StaticToken keep the TOTP key and the recovery codes in plain text in
# columns of django-otp's tables. django-otp finds devices by model (every ``Device`` subclass of an
# installed app), so these two models take their place: the same fields and, for the authenticator,
# django-otp's own TOTP verification (borrowed from TOTPDevice, not copied), with the secrets in
# ``EncryptedTextField`` columns (walletmanager.encrypted_fields). Migration 0003 moved the old rows.


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator app (RFC 6238); ``key`` is the hex secret, stored encrypted."""

    key = EncryptedTextField(default=totp_models.default_key, validators=[totp_models.key_validator])
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    # django-otp's TOTP device logic, as it is (its code reads only the fields above).
    bin_key = totp_models.TOTPDevice.bin_key
    verify_token = totp_models.TOTPDevice.verify_token
    get_throttle_factor = totp_models.TOTPDevice.get_throttle_factor
    config_url = totp_models.TOTPDevice.config_url
    _read_str_from_settings = totp_models.TOTPDevice._read_str_from_settings


class RecoveryCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """Ten single-use recovery codes (``RecoveryCode`` rows); a code works once, in place of a TOTP code."""

    class Meta(Device.Meta):
        verbose_name = "recovery codes"

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        """The code is compared in Python (an encrypted column cannot be searched), in constant time,
        with the device's codes locked so that two requests cannot both use one."""
        verify_allowed, _ = self.verify_is_allowed()
        if not verify_allowed:
            return False
        token = str(token or "").strip()
        with transaction.atomic():
            codes = list(self.codes.select_for_update().order_by("pk"))
            match = None
            for code in codes:
                if hmac.compare_digest(code.code.encode(), token.encode()) and match is None:
                    match = code
            if match is None:
                self.throttle_increment()
                return False
            match.delete()
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
            return True


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, related_name="codes", on_delete=models.CASCADE)
    code = EncryptedTextField()

    @staticmethod
    def random_code() -> str:
        return static_models.StaticToken.random_token()
