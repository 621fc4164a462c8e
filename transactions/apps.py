from django.apps import AppConfig


class TransactionsConfig(AppConfig):
    name = "transactions"
    verbose_name = "Ledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from transactions import approval_actions, receivers, reference_data
        from walletmanager.database import roles

        receivers.connect()
        reference_data.connect()
        approval_actions.register_actions()
        # What the runtime role may do to the ledger (SPEC §14): append entries; insert transactions
        # and resolve pending ones (the transaction_guard trigger refuses any other change); never
        # delete either. Reconciliation runs are a record too.
        roles.restrict("transactions_entry", "SELECT", "INSERT")
        roles.restrict("transactions_transaction", "SELECT", "INSERT", "UPDATE")
        roles.restrict("transactions_reconciliationrun", "SELECT", "INSERT")
        # The dashboard's rollups move only with the transactions, through their triggers.
        roles.restrict("transactions_dailyvolume", "SELECT")
