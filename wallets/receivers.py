from walletmanager.audit import connect_audit_receivers
from walletmanager.webhooks.publishing import connect_publishers
from wallets import signals

AUDITED = {
    signals.wallet_created: "wallet.created",
    signals.wallet_updated: "wallet.updated",
    signals.wallet_blocked: "wallet.blocked",
    signals.wallet_unblocked: "wallet.unblocked",
    signals.wallet_closed: "wallet.closed",
    signals.wallet_pin_locked: "wallet.pin_locked",
}


PUBLISHED = {
    signals.wallet_blocked: "wallet.blocked",
    signals.wallet_unblocked: "wallet.unblocked",
    signals.wallet_closed: "wallet.closed",
}
EVENT_TYPES = {
    "wallet.blocked": "Staff blocked the wallet: nothing moves in or out.",
    "wallet.unblocked": "The wallet may move money again.",
    "wallet.closed": "The wallet was closed for good.",
}


def publish_wallet_event(wallet, event_type: str) -> None:
    """The owner's view of the wallet (never the reason staff gave)."""
    from walletmanager.webhooks.services import event_publish
    from wallets.serializers import WalletSerializer

    event_publish(type=event_type, render=lambda: dict(WalletSerializer(wallet).data), owner_ids=[wallet.owner_id])


def connect() -> None:
    connect_audit_receivers(AUDITED, app_label="wallets")
    connect_publishers(PUBLISHED, publish=publish_wallet_event, app_label="wallets", event_types=EVENT_TYPES)
