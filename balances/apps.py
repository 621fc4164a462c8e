from django.apps import AppConfig


class BalancesConfig(AppConfig):
    name = "balances"
    verbose_name = "Holdings and currencies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from balances import receivers
        from walletmanager.database import roles

        receivers.connect()
        # Positions move only through the ledger's database functions (SPEC §14); the runtime role
        # opens assets (they start at zero) and mirrors a wallet's credit limit on them.
        roles.restrict("balances_balanceasset", "SELECT", "INSERT", "UPDATE (credit_limit, updated_at)")
