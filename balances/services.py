"""Every write to a balance outside the ledger (SPEC §4): opening a wallet's balance, freezing and
unfreezing. Money itself only moves through ``transactions.services``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from balances import signals
from balances.models import Balance, BalanceAsset, Currency
from walletmanager.actors import clean_reason, refuse_own, require_staff
from walletmanager.audit import save_audited
from walletmanager.exceptions import InvalidState, ValidationFailed
from walletmanager.money import fractional_digits
from wallets.exceptions import WalletClosed
from wallets.models import Wallet


def _lock(balance: Balance) -> Balance:
    # Conflicts with the share lock every movement takes on its balances (SPEC §14).
    return Balance.objects.select_for_update(of=("self",), no_key=True).select_related("wallet").get(pk=balance.pk)


def balance_open(*, wallet: Wallet, kind: str, currency: str | None) -> Balance:
    """Open the balance of a new wallet: ``regular`` holds one active currency (and gets its one asset
    now), ``multi`` takes no currency and gets an asset per currency on first use."""
    if kind == Balance.Kind.MULTI:
        if currency:
            raise ValidationFailed("A multi-currency balance takes no currency.", field="currency")
        return Balance.objects.create(wallet=wallet, kind=kind, currency=None)
    if kind != Balance.Kind.REGULAR:
        raise ValidationFailed("Choose one of: regular, multi.", field="balance_kind")
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if not code:
        raise ValidationFailed("A single-currency balance needs a currency.", field="currency")
    active = Currency.objects.filter(pk=code, is_active=True).first()
    if active is None:
        raise ValidationFailed(f"{code[:10]!r} is not an active currency.", field="currency")
    if fractional_digits(wallet.credit_limit) > active.decimals:
        raise ValidationFailed(
            f"The credit limit may have at most {active.decimals} decimal places for {active.code}.",
            field="credit_limit",
        )
    balance = Balance.objects.create(wallet=wallet, kind=kind, currency=active)
    BalanceAsset.objects.create(balance=balance, currency=active, credit_limit=wallet.credit_limit or Decimal(0))
    return balance


def balance_freeze(*, actor: Any, balance: Balance, reason: str) -> Balance:
    """Staff freeze a balance (reason required): money still comes in, nothing goes out."""
    require_staff(actor, detail="Only staff may freeze or unfreeze a balance.")
    reason = clean_reason(reason, required=True)
    with transaction.atomic():
        balance = _lock(balance)
        if balance.wallet.is_system:
            raise InvalidState("System balances can never be frozen.")
        if balance.status == Balance.Status.FROZEN:
            return balance
        if balance.wallet.status == Wallet.Status.CLOSED:
            raise WalletClosed()
        balance.status = Balance.Status.FROZEN
        balance.freeze_reason = reason
        balance.frozen_at = timezone.now()
        balance.save(update_fields=["status", "freeze_reason", "frozen_at"])
        signals.balance_frozen.send(
            sender=Balance,
            instance=balance,
            actor=actor,
            reason=reason,
            data={"before": {"status": "active"}, "after": {"status": "frozen"}, "wallet": str(balance.wallet_id)},
        )
    return balance


def balance_unfreeze(*, actor: Any, balance: Balance, reason: str = "") -> Balance:
    """Staff unfreeze a frozen balance; the balance of a closed wallet stays as it is. Never the
    balance of their own wallet (SPEC §12)."""
    require_staff(actor, detail="Only staff may freeze or unfreeze a balance.")
    refuse_own(actor, {balance.wallet.owner_id})
    reason = clean_reason(reason, required=False)
    with transaction.atomic():
        balance = _lock(balance)
        if balance.status == Balance.Status.ACTIVE:
            return balance
        if balance.wallet.status == Wallet.Status.CLOSED:
            raise WalletClosed()
        before = {"status": "frozen", "freeze_reason": balance.freeze_reason}
        balance.status = Balance.Status.ACTIVE
        balance.freeze_reason = ""
        balance.frozen_at = None
        balance.save(update_fields=["status", "freeze_reason", "frozen_at"])
        signals.balance_unfrozen.send(
            sender=Balance,
            instance=balance,
            actor=actor,
            reason=reason,
            data={"before": before, "after": {"status": "active"}, "wallet": str(balance.wallet_id)},
        )
    return balance


# --- currencies (SPEC §2, §13) ----------------------------------------------------------------------


def currency_save(*, actor: Any, currency: Currency) -> Currency:
    """Create a currency or save an operator's edit of one (the admin's form has checked its fields):
    one ``currency.created`` or ``currency.changed`` audit event with the fields before and after; an
    edit that changes nothing leaves none. Staff only."""
    require_staff(actor, detail="Only staff may manage currencies.")
    with transaction.atomic():
        save_audited(currency, actor=actor, created=signals.currency_created, changed=signals.currency_changed)
    return currency
