from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "Clients and staff"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from users import receivers
        from walletmanager.admin_secrets import register_secret_fields

        receivers.connect()
        register_secret_fields("users.User", "password")
        register_secret_fields("users.AuthenticatorDevice", "key")
        register_secret_fields("users.RecoveryCode", "code")


class StaffAdminConfig(AdminConfig):
    """``django.contrib.admin`` with the operators' two-factor admin site as ``admin.site``."""

    default_site = "users.admin_site.StaffAdminSite"
