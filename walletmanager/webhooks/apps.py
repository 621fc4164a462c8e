from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Events the outside world may see, and their signed delivery to clients' endpoints (SPEC §15).
    Domains publish into it from their receivers; it knows event names, never models."""

    name = "walletmanager.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from walletmanager.admin_secrets import register_secret_fields
        from walletmanager.database import roles

        register_secret_fields("webhooks.WebhookEndpoint", "secret")

        # What was published and every attempt to deliver it are the record: appended, never rewritten.
        roles.restrict("webhooks_webhookevent", "SELECT", "INSERT")
        roles.restrict("webhooks_webhookattempt", "SELECT", "INSERT")
