from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

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
