from django.apps import AppConfig
from django_otp.plugins.otp_static.apps import DefaultConfig as OtpStaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as OtpTotpConfig
from procrastinate.contrib.django.apps import ProcrastinateConfig


class WalletManagerConfig(AppConfig):
    """The shared kernel: money helpers, domain errors, API plumbing and the audit log."""

    name = "walletmanager"
    label = "walletmanager"
    verbose_name = "Audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from walletmanager import checks  # noqa: F401  (registers the checks)
        from walletmanager.database import roles

        post_migrate.connect(roles.grant_after_migrate, sender=self, dispatch_uid="walletmanager.runtime_privileges")
        # Audit events and the seal's blocks are appended only through ledger.audit_append and
        # ledger.audit_seal_append (SPEC §16); nobody rewrites them. The migration history is the owner's.
        roles.restrict("walletmanager_auditevent", "SELECT")
        roles.restrict("walletmanager_auditseal", "SELECT")
        roles.restrict("django_migrations", "SELECT")


# The libraries' apps under the names operators read on the admin's index and breadcrumbs ("Knox",
# "Otp_Totp" say nothing to them). Django's documented way: INSTALLED_APPS names these configs.


class ApiTokensConfig(AppConfig):
    name = "knox"
    verbose_name = "API access"

    def ready(self) -> None:
        from walletmanager.admin_secrets import register_secret_fields

        # knox keys a token by its digest; the first characters of the token itself are ``token_key``.
        register_secret_fields("knox.AuthToken", "digest", "token_key")


class AuthenticatorAppsConfig(OtpTotpConfig):
    verbose_name = "Two-factor: authenticator apps"

    def ready(self) -> None:
        super().ready()
        from walletmanager.admin_secrets import register_secret_fields

        register_secret_fields("otp_totp.TOTPDevice", "key")


class RecoveryCodesConfig(OtpStaticConfig):
    verbose_name = "Two-factor: recovery codes"

    def ready(self) -> None:
        super().ready()
        from walletmanager.admin_secrets import register_secret_fields

        register_secret_fields("otp_static.StaticToken", "token")


class BackgroundJobsConfig(ProcrastinateConfig):
    verbose_name = "Background jobs"
