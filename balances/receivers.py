from balances import signals
from walletmanager.audit import connect_audit_receivers
from walletmanager.webhooks.publishing import connect_publishers

AUDITED = {
    signals.balance_frozen: "balance.frozen",
    signals.balance_unfrozen: "balance.unfrozen",
    signals.currency_created: "currency.created",
    signals.currency_changed: "currency.changed",
}


PUBLISHED = {signals.balance_frozen: "balance.frozen", signals.balance_unfrozen: "balance.unfrozen"}
EVENT_TYPES = {
    "balance.frozen": "Staff froze the wallet's balance: money may come in, none may go out.",
    "balance.unfrozen": "The balance may pay out again.",
}


def publish_balance_event(balance, event_type: str) -> None:
    """The owner's view of the balance and which wallet it belongs to."""
    from walletmanager.webhooks.services import event_publish
    from wallets.serializers import WalletSerializer

    def render() -> dict:
        return {"wallet": str(balance.wallet_id), **WalletSerializer(balance.wallet).data["balance"]}

    event_publish(type=event_type, render=render, owner_ids=[balance.wallet.owner_id])


def connect() -> None:
    connect_audit_receivers(AUDITED, app_label="balances")
    connect_publishers(PUBLISHED, publish=publish_balance_event, app_label="balances", event_types=EVENT_TYPES)
