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
        # The runtime role reads the ledger and writes it only through the ``ledger`` schema's
        # functions (SPEC §16): no INSERT, UPDATE or DELETE of its own on transactions or entries.
        # Reconciliation runs are a record the application appends.
        roles.restrict("transactions_entry", "SELECT")
        roles.restrict("transactions_transaction", "SELECT")
        roles.restrict("transactions_reconciliationrun", "SELECT", "INSERT")
        # The dashboard's rollups move only with the transactions, through their triggers.
        roles.restrict("transactions_dailyvolume", "SELECT")
        # The ledger's requests and the velocity buckets: written by ledger.move and a trigger alone.
        roles.restrict("transactions_ledgerrequest", "SELECT")
        roles.restrict("transactions_outgoingvolume", "SELECT")
