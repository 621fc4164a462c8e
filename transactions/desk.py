"""The approvals desk (SPEC §8, §12): everything that waits for an operator's decision, on one page.

Pending withdrawals (Finance approves), pending deposits (Finance confirms when the money arrived)
and the approval requests of the four-eyes mechanism, each with what an operator needs to decide
without opening five pages: the amount in its currency, the client, the wallet's available balance,
how long it has waited and the wallet's last transactions. A fixed number of queries whatever the
number of rows: one per queue, one for the wallets of the requests, one for the balances and one for
the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.urls import reverse

from balances.models import BalanceAsset, Currency
from transactions.models import Transaction
from walletmanager.approvals import registry
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.selectors import approval_list_for
from walletmanager.money import format_money, format_number
from wallets.models import Wallet

# Rows per queue: a desk longer than this is a backlog, and the changelists page through it.
DESK_ROWS = 100
HISTORY_ROWS = 3


@dataclass
class HistoryLine:
    created_at: datetime
    text: str
    url: str


@dataclass
class DeskItem:
    kind: str
    summary: str
    url: str
    created_at: datetime
    amount: str
    client_email: str = ""
    client_url: str = ""
    wallet_address: str = ""
    wallet_url: str = ""
    available: str = "—"
    requested_by: str = ""
    # What held it (the approval threshold, the four-eyes rule) and where the money goes.
    rule: str = ""
    destination: str = ""
    # The viewer made it (asked for the request, recorded the deposit): another operator decides.
    mine: bool = False
    history: list[HistoryLine] = field(default_factory=list)
    # what the desk reads to fill the context in: the wallet and the currency whose balance matters
    wallet_id: Any = None
    currency_id: str | None = None
    exclude_id: Any = None


@dataclass
class Desk:
    withdrawals: list[DeskItem]
    deposits: list[DeskItem]
    requests: list[DeskItem]

    @property
    def total(self) -> int:
        return len(self.withdrawals) + len(self.deposits) + len(self.requests)


def _money(amount: Decimal, currency_code: str, decimals: dict[str, int]) -> str:
    return format_money(amount, currency=currency_code, decimals=decimals.get(currency_code, 2))


def _user_url(user_id: Any) -> str:
    return reverse("admin:users_user_change", args=[user_id])


def _threshold_rule(transaction: Transaction, decimals: dict[str, int]) -> str:
    threshold = transaction.currency.withdrawal_approval_threshold
    if threshold is None:
        return "Held for approval (the currency has no threshold now)."
    return (
        f"Withdrawals of {_money(threshold, transaction.currency_id, decimals)} or more in a day wait for "
        "Finance's approval; the amount plus fee is held until then."
    )


def _transaction_item(transaction: Transaction, decimals: dict[str, int], user: Any) -> DeskItem:
    wallet = transaction.wallet
    if transaction.kind == Transaction.Kind.DEPOSIT:
        summary = f"Deposit {transaction.reference}: waits for the money to arrive"
        rule = "A deposit is posted when the provider reports the money, or another Finance operator confirms it."
        destination = ""
    else:
        summary = "Withdrawal above the approval threshold"
        rule = _threshold_rule(transaction, decimals)
        destination = transaction.description or "the outside world (no description given)"
    return DeskItem(
        kind=transaction.get_kind_display(),
        summary=summary,
        url=reverse("admin:transactions_transaction_change", args=[transaction.pk]),
        created_at=transaction.created_at,
        amount=_money(transaction.amount, transaction.currency_id, decimals),
        client_email=wallet.owner.email,
        client_url=_user_url(wallet.owner_id),
        wallet_address=wallet.address,
        wallet_url=reverse("admin:wallets_wallet_change", args=[wallet.pk]),
        wallet_id=wallet.pk,
        currency_id=transaction.currency_id,
        exclude_id=transaction.pk,
        mine=transaction.kind == Transaction.Kind.DEPOSIT and transaction.created_by_id == user.pk,
        rule=rule,
        destination=destination,
    )


def _pending_transactions(kind: str, decimals: dict[str, int], user: Any) -> list[DeskItem]:
    pending = (
        Transaction.objects.filter(status=Transaction.Status.PENDING, kind=kind)
        .select_related("wallet__owner", "currency")
        .order_by("created_at", "id")[:DESK_ROWS]
    )
    return [_transaction_item(transaction, decimals, user) for transaction in pending]


def _request_items(user: Any, decimals: dict[str, int], requests: list[ApprovalRequest]) -> list[DeskItem]:
    """The requests with the wallet each one touches: the payload names it (adjustments, credit
    limits) or the transaction it reverses does."""
    reversed_ids = [request.payload["transaction"] for request in requests if "transaction" in request.payload]
    # Keyed by the id as the payload stores it (text): in_bulk's keys are UUIDs.
    originals = (
        {str(pk): original for pk, original in Transaction.objects.in_bulk(reversed_ids).items()}
        if reversed_ids
        else {}
    )
    wallet_of = {
        request.pk: request.payload.get("wallet")
        or getattr(originals.get(request.payload.get("transaction")), "wallet_id", None)
        for request in requests
    }
    wallet_ids = {str(wallet_id) for wallet_id in wallet_of.values() if wallet_id}
    wallets = (
        {
            str(wallet.pk): wallet
            for wallet in Wallet.objects.filter(pk__in=wallet_ids).select_related("owner", "balance")
        }
        if wallet_ids
        else {}
    )

    items = []
    for request in requests:
        wallet = wallets.get(str(wallet_of[request.pk]))
        original = originals.get(request.payload.get("transaction"))
        if original is not None and "received_amount" in request.payload:
            # A deposit confirmed with another amount than asked for: what would post is what matters.
            amount, currency_id = Decimal(request.payload["received_amount"]), original.currency_id
        elif original is not None:
            amount, currency_id = original.amount, original.currency_id
        elif "amount" in request.payload:
            amount, currency_id = Decimal(request.payload["amount"]), request.payload.get("currency")
        elif "credit_limit" in request.payload:
            amount = Decimal(request.payload["credit_limit"])
            currency_id = wallet.balance.currency_id if wallet is not None else None
        else:
            amount, currency_id = None, None
        try:
            label = registry.get(request.action).label
        except KeyError:
            label = request.action
        item = DeskItem(
            kind=label,
            summary=request.summary,
            url=reverse("admin:approvals_approvalrequest_change", args=[request.pk]),
            created_at=request.created_at,
            amount=_money(amount, currency_id, decimals)
            if amount is not None and currency_id
            else (f"{format_number(amount, grouped=True)} in each currency" if amount is not None else "—"),
            requested_by=request.requested_by.email,
            mine=request.requested_by_id == user.pk,
            currency_id=currency_id,
            exclude_id=request.payload.get("transaction"),
            rule=f"Four eyes: {request.requested_by.email} asked for it; a different operator with the same "
            "permission decides, and nobody decides on their own money.",
        )
        if wallet is not None:
            item.client_email = wallet.owner.email
            item.client_url = _user_url(wallet.owner_id)
            item.wallet_address = wallet.address
            item.wallet_url = reverse("admin:wallets_wallet_change", args=[wallet.pk])
            item.wallet_id = wallet.pk
        items.append(item)
    return items


def _fill_context(items: list[DeskItem], decimals: dict[str, int]) -> None:
    """Each item's wallet: its available balance in the item's currency and its last transactions."""
    wallet_ids = {item.wallet_id for item in items if item.wallet_id}
    if not wallet_ids:
        return
    available = {
        (str(asset.balance.wallet_id), asset.currency_id): asset.available
        for asset in BalanceAsset.objects.filter(balance__wallet_id__in=wallet_ids).select_related("balance")
    }
    # The newest transactions of each wallet (one ranked query): enough to tell a regular client from
    # a new account emptying itself. The pending items themselves are left out below.
    recent = (
        Transaction.objects.filter(wallet_id__in=wallet_ids)
        .annotate(
            rank=Window(RowNumber(), partition_by=F("wallet_id"), order_by=[F("created_at").desc(), F("id").desc()])
        )
        .filter(rank__lte=HISTORY_ROWS + 1)
        .order_by("wallet_id", "rank")
    )
    history: dict[str, list[Transaction]] = {}
    for transaction in recent:
        history.setdefault(str(transaction.wallet_id), []).append(transaction)
    for item in items:
        if not item.wallet_id:
            continue
        key = str(item.wallet_id)
        if item.currency_id and (key, item.currency_id) in available:
            item.available = _money(available[(key, item.currency_id)], item.currency_id, decimals)
        item.history = [
            HistoryLine(
                created_at=transaction.created_at,
                text=f"{transaction.get_kind_display()} {_money(transaction.amount, transaction.currency_id, decimals)}"
                f" ({transaction.get_status_display().lower()})",
                url=reverse("admin:transactions_transaction_change", args=[transaction.pk]),
            )
            for transaction in history.get(key, [])
            if str(transaction.pk) != str(item.exclude_id)
        ][:HISTORY_ROWS]


def desk_for(*, user: Any) -> Desk:
    """What waits for a decision, as ``user`` may see it: the ledger's pending transactions when they
    may view transactions, and the approval requests of the actions they hold the permission for."""
    decimals = dict(Currency.objects.values_list("code", "decimals"))
    sees_ledger = user.has_perm("transactions.view_transaction")
    desk = Desk(
        withdrawals=_pending_transactions(Transaction.Kind.WITHDRAWAL, decimals, user) if sees_ledger else [],
        deposits=_pending_transactions(Transaction.Kind.DEPOSIT, decimals, user) if sees_ledger else [],
        requests=_request_items(
            user,
            decimals,
            list(
                approval_list_for(user=user)
                .filter(status=ApprovalRequest.Status.PENDING)
                .select_related("requested_by")
                .order_by("created_at", "id")[:DESK_ROWS]
            ),
        ),
    )
    _fill_context(desk.withdrawals + desk.deposits + desk.requests, decimals)
    return desk


def desk_item_for_transaction(*, transaction: Transaction, user: Any) -> DeskItem:
    """The desk's row for one pending transaction, for its own page."""
    decimals = dict(Currency.objects.values_list("code", "decimals"))
    item = _transaction_item(transaction, decimals, user)
    _fill_context([item], decimals)
    return item


def desk_item_for_request(*, request: ApprovalRequest, user: Any) -> DeskItem:
    """The desk's row for one approval request, for its own page."""
    decimals = dict(Currency.objects.values_list("code", "decimals"))
    (item,) = _request_items(user, decimals, [request])
    _fill_context([item], decimals)
    return item
