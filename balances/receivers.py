from balances import signals
from walletmanager.audit import connect_audit_receivers
from wallets import signals as wallet_signals

AUDITED = {
    signals.balance_frozen: "balance.frozen",
    signals.balance_unfrozen: "balance.unfrozen",
    signals.currency_created: "currency.created",
    signals.currency_changed: "currency.changed",
}


def open_balance_of_new_wallet(sender, *, instance, balance_kind, currency=None, **kwargs) -> None:
    """Runs inside ``wallet_create``'s transaction: a refused currency rolls the wallet back too."""
    from balances.services import balance_open

    balance_open(wallet=instance, kind=balance_kind, currency=currency)


def connect() -> None:
    connect_audit_receivers(AUDITED, app_label="balances")
    wallet_signals.wallet_created.connect(
        open_balance_of_new_wallet, weak=False, dispatch_uid="balances:open_balance_of_new_wallet"
    )
