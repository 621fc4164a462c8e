from django.apps import AppConfig


class WalletsConfig(AppConfig):
    name = "wallets"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from walletmanager.admin_secrets import register_secret_fields
        from wallets import approval_actions, receivers

        receivers.connect()
        register_secret_fields("wallets.Wallet", "pin")
        approval_actions.register_actions()
