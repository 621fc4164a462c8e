from django.apps import AppConfig


class WalletManagerConfig(AppConfig):
    """The shared kernel: money helpers, domain errors, API plumbing and the audit log."""

    name = "walletmanager"
    label = "walletmanager"
    verbose_name = "Audit"
    default_auto_field = "django.db.models.BigAutoField"
