from django.apps import AppConfig


class TransactionsConfig(AppConfig):
    name = "transactions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from transactions import receivers, reference_data

        receivers.connect()
        reference_data.connect()
