"""Every write to a balance outside the ledger (SPEC §4): opening a wallet's balance, freezing and
unfreezing. Money itself only moves through ``transactions.services``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from balances import selectors, signals
from balances.models import Balance, BalanceAsset, Currency
from walletmanager.actors import clean_reason, refuse_own, require_permission
from walletmanager.audit import save_audited, set_fields
from walletmanager.database.ledger_calls import ledger_call
from walletmanager.exceptions import InvalidState, ValidationFailed
from walletmanager.money import format_number, fractional_digits
from wallets.exceptions import WalletClosed
from wallets.models import Wallet

FREEZE_PERMISSION = "balances.freeze_balance"


def _lock(balance: Balance) -> Balance:
    # Conflicts with the share lock every movement takes on its balances (SPEC §14).
    return Balance.objects.select_for_update(of=("self",), no_key=True).select_related("wallet").get(pk=balance.pk)


def balance_open(*, wallet: Wallet, kind: str, currency: str | None) -> Balance:
    """Open the balance of a new wallet: ``regular`` holds one active currency (and gets its one asset
    now), ``multi`` takes no currency and gets an asset per currency on first use."""
    if kind == Balance.Kind.MULTI:
        if currency:
            raise ValidationFailed("A multi-currency balance takes no currency.", field="currency")
        return _open(wallet=wallet, kind=kind, currency=None)
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
    return _open(wallet=wallet, kind=kind, currency=active)


def _open(*, wallet: Wallet, kind: str, currency: Currency | None) -> Balance:
    """``ledger.balance_open``: the balance, and a single-currency balance's asset at the wallet's
    credit limit, written by the database (SPEC §16: the runtime role inserts neither itself)."""
    ((balance_id,),) = ledger_call(
        "SELECT ledger.balance_open(%s::uuid, %s, %s)", [wallet.pk, kind, currency.code if currency else None]
    )
    return Balance.objects.get(pk=balance_id)


# The two steps below are wallets' (registered in BalancesConfig.ready(), see wallets.services): the
# wallet services call them inside their transaction with the wallet row already locked, so the
# assets are locked after it (SPEC §14), ordered by pk like the ledger's.


def _locked_assets(wallet: Wallet) -> list[BalanceAsset]:
    balance = getattr(wallet, "balance", None)  # RelatedObjectDoesNotExist is an AttributeError
    if balance is None:
        return []
    return list(balance.assets.select_for_update(of=("self",)).order_by("pk"))


def balance_apply_credit_limit(*, wallet: Wallet, credit_limit: Decimal) -> None:
    """Mirror a credit wallet's new limit on its assets, where PostgreSQL checks the floor
    ``posted >= held - credit_limit``; a limit below the credit already used is refused."""
    assets = _locked_assets(wallet)
    used = max((asset.held - asset.posted for asset in assets), default=Decimal(0))
    if credit_limit < used:
        raise InvalidState(f"The wallet already uses {format_number(used)} of credit; the limit cannot go below it.")
    BalanceAsset.objects.filter(pk__in=[asset.pk for asset in assets]).update(
        credit_limit=credit_limit, updated_at=timezone.now()
    )


def balance_lock_and_check_empty(*, wallet: Wallet) -> bool:
    """Lock the wallet's assets (so no deposit lands before its close) and tell whether every one
    has posted = 0 and held = 0; a wallet without a balance holds nothing."""
    return all(asset.posted == 0 and asset.held == 0 for asset in _locked_assets(wallet))


def balance_freeze(*, actor: Any, balance: Balance, reason: str) -> Balance:
    """Staff with ``balances.freeze_balance`` freeze a balance (reason required): money still comes
    in, nothing goes out."""
    require_permission(actor, FREEZE_PERMISSION)
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
    """Staff with ``balances.freeze_balance`` unfreeze a frozen balance; the balance of a closed
    wallet stays as it is. Never the balance of their own wallet (SPEC §12)."""
    require_permission(actor, FREEZE_PERMISSION)
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

CURRENCY_ADD_PERMISSION = "balances.add_currency"
CURRENCY_CHANGE_PERMISSION = "balances.change_currency"
CURRENCY_FIELDS = ("name", "decimals", "is_active", "withdrawal_approval_threshold", "daily_outgoing_limit")


def _save_currency(currency: Currency, *, actor: Any) -> Currency:
    try:
        currency.full_clean()
    except DjangoValidationError as error:
        raise ValidationFailed.from_django(error) from None
    with transaction.atomic():
        save_audited(currency, actor=actor, created=signals.currency_created, changed=signals.currency_changed)
    return currency


def currency_create(*, actor: Any, code: str, **fields: Any) -> Currency:
    """Add a currency (``add_currency``) with ``CURRENCY_FIELDS``: a free code of 3–10 of A–Z and
    0–9, a name, at most 18 decimals, positive limits if any. One ``currency.created`` audit event
    with its fields."""
    require_permission(actor, CURRENCY_ADD_PERMISSION, detail="Only staff may manage currencies.")
    code = (code or "").strip()
    if Currency.objects.filter(pk=code).exists():
        raise ValidationFailed(f"The currency {code} already exists.", field="code")
    currency = set_fields(Currency(code=code), fields, editable=CURRENCY_FIELDS)
    return _save_currency(currency, actor=actor)


def currency_update(*, actor: Any, currency: Currency, **changes: Any) -> Currency:
    """Change a currency's ``CURRENCY_FIELDS`` (``change_currency``; the code never changes). Its
    decimals are frozen once a balance holds it: they would reinterpret every amount already held.
    One ``currency.changed`` audit event with the fields before and after; no change, no event."""
    require_permission(actor, CURRENCY_CHANGE_PERMISSION, detail="Only staff may manage currencies.")
    with transaction.atomic():
        currency = Currency.objects.select_for_update().get(pk=currency.pk)
        if (
            "decimals" in changes
            and changes["decimals"] != currency.decimals
            and selectors.currency_in_use(code=currency.code)
        ):
            raise InvalidState(
                f"The decimals of {currency.code} cannot change: balances already hold it, and their amounts "
                "would be read at another precision."
            )
        return _save_currency(set_fields(currency, changes, editable=CURRENCY_FIELDS), actor=actor)
