"""The ledger's actions that need a second operator (SPEC §12): adjustments and reversals. Registered
with the kernel's approvals in ``TransactionsConfig.ready()``; the kernel never imports this app."""

from __future__ import annotations

from typing import Any

from balances.models import Currency
from transactions import deposits, reversals, services
from transactions.models import Transaction
from walletmanager.approvals.registry import ApprovalAction, Prepared, register
from walletmanager.exceptions import NotFoundError, ValidationFailed
from walletmanager.money import format_amount, format_money
from wallets.models import Wallet


def _client_wallet(wallet_id: Any) -> Wallet:
    wallet = Wallet.objects.filter(pk=wallet_id, system_role__isnull=True).select_related("owner").first()
    if wallet is None:
        raise NotFoundError("No such wallet.")
    return wallet


def _currency(code: Any) -> Currency:
    currency = Currency.objects.filter(pk=str(code or "").upper()[:10]).first()
    if currency is None:
        raise ValidationFailed("Unknown currency.", field="currency")
    return currency


# --- adjust ---------------------------------------------------------------------------------------


def prepare_adjustment(*, actor: Any, wallet: Wallet, currency: Currency, amount: Any, direction: str) -> Prepared:
    amount = services._clean_amount(amount, currency=currency)
    if direction not in services.ADJUSTMENT_DIRECTIONS:
        raise ValidationFailed('Choose "credit" or "debit".', field="direction")
    wallet = _client_wallet(wallet.pk)
    return Prepared(
        payload={"wallet": str(wallet.pk), "currency": currency.code, "amount": str(amount), "direction": direction},
        summary=(
            f"Adjustment: {direction} {format_money(amount, currency=currency.code, decimals=currency.decimals)}"
            f" to {wallet.address}"
        ),
        target_type="wallets.wallet",
        target_id=str(wallet.pk),
        owner_ids=frozenset({wallet.owner_id}),
    )


def run_adjustment(*, actor: Any, payload: dict[str, Any], reason: str) -> dict[str, Any]:
    transaction = services.transaction_adjust(
        actor=actor,
        wallet=_client_wallet(payload["wallet"]),
        currency=_currency(payload["currency"]),
        amount=payload["amount"],
        direction=payload["direction"],
        reason=reason,
    )
    return {"transaction": str(transaction.pk)}


def adjustment_owners(payload: dict[str, Any]) -> frozenset[Any]:
    return frozenset(Wallet.objects.filter(pk=payload["wallet"]).values_list("owner_id", flat=True))


# --- reverse --------------------------------------------------------------------------------------


def _entry_owners(transaction_id: Any) -> frozenset[Any]:
    return frozenset(
        Wallet.objects.filter(entries__transaction_id=transaction_id, system_role__isnull=True).values_list(
            "owner_id", flat=True
        )
    )


def prepare_reversal(*, actor: Any, transaction: Transaction) -> Prepared:
    services.check_reversible(transaction)
    return Prepared(
        payload={"transaction": str(transaction.pk)},
        summary=f"Reversal of {reversals.in_words(transaction)}",
        target_type="transactions.transaction",
        target_id=str(transaction.pk),
        owner_ids=_entry_owners(transaction.pk),
    )


def run_reversal(*, actor: Any, payload: dict[str, Any], reason: str) -> dict[str, Any]:
    original = Transaction.objects.filter(pk=payload["transaction"]).first()
    if original is None:
        raise NotFoundError("No such transaction.")
    reversal = services.transaction_reverse(actor=actor, transaction=original, reason=reason)
    return {"transaction": str(reversal.pk), "reverses": str(original.pk)}


# --- confirm a deposit with another amount than the one asked for ---------------------------------


def prepare_deposit_received(*, actor: Any, transaction: Transaction, received_amount: Any) -> Prepared:
    deposit = (
        Transaction.objects.filter(pk=getattr(transaction, "pk", transaction))
        .select_related("wallet", "currency")
        .first()
    )
    if deposit is None:
        raise NotFoundError("No such transaction.")
    currency = deposit.currency
    received = services._clean_amount(received_amount, currency=currency, field="received_amount")

    def money(amount: Any) -> str:
        return format_money(amount, currency=currency.code, decimals=currency.decimals)

    return Prepared(
        payload={"transaction": str(deposit.pk), "currency": currency.code, "received_amount": str(received)},
        summary=(
            f"Deposit {deposit.reference} to {deposit.wallet.address}: {money(received)} received, "
            f"{money(deposit.amount)} asked for"
        ),
        target_type="transactions.transaction",
        target_id=str(deposit.pk),
        owner_ids=frozenset({deposit.wallet.owner_id}),
    )


def run_deposit_received(*, actor: Any, payload: dict[str, Any], reason: str) -> dict[str, Any]:
    deposit = deposits.deposit_confirm_received(
        actor=actor, transaction=payload["transaction"], received_amount=payload["received_amount"], reason=reason
    )
    received = format_amount(deposit.received_amount, decimals=deposit.currency.decimals)
    return {"transaction": str(deposit.pk), "received_amount": received}


def _deposit_owners(payload: dict[str, Any]) -> frozenset[Any]:
    return frozenset(Transaction.objects.filter(pk=payload["transaction"]).values_list("wallet__owner_id", flat=True))


def register_actions() -> None:
    register(
        ApprovalAction(
            name="adjust",
            permission=services.ADJUST_PERMISSION,
            label="Adjustment",
            prepare=prepare_adjustment,
            run=run_adjustment,
            owners=adjustment_owners,
            denied=f"Only staff with the {services.ADJUST_PERMISSION} permission may adjust balances.",
        )
    )
    register(
        ApprovalAction(
            name=deposits.CONFIRM_RECEIVED_ACTION,
            permission=deposits.CONFIRM_PERMISSION,
            label="Deposit received (other amount)",
            prepare=prepare_deposit_received,
            run=run_deposit_received,
            owners=_deposit_owners,
            denied="Only Finance (confirm_deposit) may confirm deposits.",
        )
    )
    register(
        ApprovalAction(
            name="reverse",
            permission=services.REVERSE_PERMISSION,
            label="Reversal",
            prepare=prepare_reversal,
            run=run_reversal,
            owners=lambda payload: _entry_owners(payload["transaction"]),
        )
    )
