from django.apps import AppConfig


class BalancesConfig(AppConfig):
    name = "balances"
    verbose_name = "Holdings and currencies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from balances import receivers, services
        from walletmanager.database import roles
        from wallets.services import BalanceSteps, register_balance_steps

        receivers.connect()
        # The wallet services open a new wallet's balance, mirror a credit limit on its assets and
        # check them before a close with these steps, inside their own transaction (see
        # wallets.services): wallets never imports balances.
        register_balance_steps(
            BalanceSteps(
                open=services.balance_open,
                apply_credit_limit=services.balance_apply_credit_limit,
                lock_and_check_empty=services.balance_lock_and_check_empty,
            )
        )
        # Positions move only through the ledger's database functions (SPEC §16), which also open
        # balances and assets; the runtime role mirrors a wallet's credit limit on its assets and
        # changes a balance's status as an operator freezes or unfreezes it, nothing else.
        roles.restrict("balances_balanceasset", "SELECT", "UPDATE (credit_limit, updated_at)")
        roles.restrict("balances_balance", "SELECT", "UPDATE (status, freeze_reason, frozen_at)")
