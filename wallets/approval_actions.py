"""Credit limits need a second operator (SPEC §12): registered with the kernel's approvals in
``WalletsConfig.ready()``."""

from __future__ import annotations

from typing import Any

from walletmanager.approvals.registry import ApprovalAction, Prepared, register
from walletmanager.exceptions import NotFoundError
from walletmanager.money import format_money, format_number
from wallets import services
from wallets.models import Wallet


def _wallet(wallet_id: Any) -> Wallet:
    wallet = Wallet.objects.filter(pk=wallet_id, system_role__isnull=True).first()
    if wallet is None:
        raise NotFoundError("No such wallet.")
    return wallet


def _limit_text(limit: Any, currency: Any) -> str:
    """A limit as money in the balance's currency; a multi-currency balance's applies in each one."""
    if currency is None:
        return f"{format_number(limit, grouped=True)} in each currency"
    return format_money(limit, currency=currency.code, decimals=currency.decimals)


def prepare_credit_limit(*, actor: Any, wallet: Wallet, credit_limit: Any) -> Prepared:
    wallet = _wallet(wallet.pk)
    if wallet.kind != Wallet.Kind.CREDIT:
        raise services.ValidationFailed("Only credit wallets have a credit limit.", field="credit_limit")
    # Read through the reverse relation so wallets never imports the balances app.
    currency = wallet.balance.currency
    limit = services._clean_credit_limit(credit_limit, decimals=currency.decimals if currency else None)
    return Prepared(
        payload={"wallet": str(wallet.pk), "credit_limit": str(limit)},
        summary=f"Credit limit of {wallet.address}: {_limit_text(wallet.credit_limit, currency)} → "
        f"{_limit_text(limit, currency)}",
        target_type="wallets.wallet",
        target_id=str(wallet.pk),
        owner_ids=frozenset({wallet.owner_id}),
    )


def run_credit_limit(*, actor: Any, payload: dict[str, Any], reason: str) -> dict[str, Any]:
    wallet = services.wallet_set_credit_limit(
        actor=actor, wallet=_wallet(payload["wallet"]), credit_limit=payload["credit_limit"]
    )
    return {"wallet": str(wallet.pk), "credit_limit": str(wallet.credit_limit)}


def register_actions() -> None:
    register(
        ApprovalAction(
            name="set_credit_limit",
            permission=services.CREDIT_LIMIT_PERMISSION,
            label="Credit limit",
            prepare=prepare_credit_limit,
            run=run_credit_limit,
            owners=lambda payload: frozenset(
                Wallet.objects.filter(pk=payload["wallet"]).values_list("owner_id", flat=True)
            ),
        )
    )
