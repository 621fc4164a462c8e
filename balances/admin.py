"""Balances, assets and currencies in the operators' admin. Money is never editable here: assets
change only through the ledger; balances change status only through the freeze / unfreeze actions."""

from __future__ import annotations

from django.contrib import admin

from balances import selectors, services
from balances.models import Balance, BalanceAsset, Currency
from walletmanager.admin import (
    Decision,
    ListColumnsMedia,
    StatusBanner,
    StatusBannerMixin,
    audit_changelist_url,
    moment_column,
    money,
    money_column,
    owner_link,
    recent_audit_events_html,
    short_wallet_link,
    wallet_link,
)
from walletmanager.admin_actions import reason_action, service_call
from walletmanager.admin_mixins import ReadOnlyAdminMixin, ServiceFormAdminMixin


class AssetMoneyMixin:
    """An asset's positions as operators read them ("10,500.00 USD")."""

    money_posted = money_column("posted", description="Posted", ordering="posted")
    money_held = money_column("held", description="Held", ordering="held")
    money_credit_limit = money_column("credit_limit", description="Credit limit")
    money_available = money_column("available", description="Available")


class AssetInline(AssetMoneyMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = BalanceAsset
    fields = ("currency", "money_posted", "money_held", "money_credit_limit", "money_available", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("currency")


@admin.register(Balance)
class BalanceAdmin(StatusBannerMixin, admin.ModelAdmin):
    list_display = ("wallet_in_list", "owner_link", "kind", "currency", "status", "frozen", "created")
    list_filter = ("kind", "status", "currency")
    search_fields = ("wallet__address", "wallet__owner__email", "=wallet__id")
    list_select_related = ("wallet__owner", "currency")
    raw_id_fields = ("wallet",)
    show_full_result_count = False
    readonly_fields = (
        "wallet",
        "kind",
        "currency",
        "status",
        "freeze_reason",
        "frozen_at",
        "created_at",
        "recent_audit_events",
    )
    inlines = [AssetInline]
    actions = ["freeze_balances", "unfreeze_balances"]

    frozen = moment_column("frozen_at", description="Frozen (UTC)")
    created = moment_column("created_at", description="Created (UTC)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("wallet__owner", "currency")

    def status_banners(self, balance: Balance) -> list[StatusBanner]:
        banners = []
        if balance.status == Balance.Status.FROZEN:
            banners.append(
                StatusBanner(
                    "This balance is frozen: money comes in, nothing goes out.",
                    reason=balance.freeze_reason,
                    since=balance.frozen_at,
                )
            )
        if balance.wallet.status != "active":
            banners.append(
                StatusBanner(
                    f"Its wallet is {balance.wallet.get_status_display().lower()}.",
                    reason=balance.wallet.block_reason,
                    level="warning" if balance.wallet.status == "blocked" else "closed",
                )
            )
        return banners

    def decisions(self, request, balance: Balance) -> list[Decision]:
        """Freeze / unfreeze on the balance's page; the wallet's and the user's pages post here too."""
        if not self.has_freeze_balance_permission(request):
            return []
        if balance.status == Balance.Status.ACTIVE:
            return [
                Decision(
                    "freeze",
                    "Freeze balance",
                    service_call(services.balance_freeze, target="balance"),
                    f"Froze the balance of {balance.wallet.address}.",
                    reason_required=True,
                    tone="danger",
                    note="money still comes in; nothing goes out until it is unfrozen.",
                )
            ]
        if balance.status == Balance.Status.FROZEN:
            return [
                Decision(
                    "unfreeze",
                    "Unfreeze balance",
                    service_call(services.balance_unfreeze, target="balance"),
                    f"Unfroze the balance of {balance.wallet.address}.",
                )
            ]
        return []

    @admin.display(description="Wallet", ordering="wallet__address")
    def wallet_link(self, balance: Balance) -> str:
        return wallet_link(balance.wallet)

    @admin.display(description="Wallet", ordering="wallet__address")
    def wallet_in_list(self, balance: Balance) -> str:
        # Shortened as in the assets and transactions lists (full on hover), so the list fits 1 280 px
        # whatever the owners' emails (a 26-character address and a long email overflowed it by 2 px).
        return short_wallet_link(balance.wallet)

    @admin.display(description="Owner", ordering="wallet__owner__email")
    def owner_link(self, balance: Balance) -> str:
        return owner_link(balance.wallet)

    @admin.display(description="Recent audit events")
    def recent_audit_events(self, balance: Balance) -> str:
        return recent_audit_events_html([balance], more_url=audit_changelist_url(balance))

    def has_add_permission(self, request) -> bool:
        return False  # opened with its wallet

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_freeze_balance_permission(self, request) -> bool:
        return request.user.has_perm(services.FREEZE_PERMISSION)

    freeze_balances = reason_action(
        services.balance_freeze,
        target="balance",
        description="Freeze selected balances",
        permission="freeze_balance",
        done_message="Froze {objects}.",
        label=lambda balance: f"the balance of {balance.wallet.address}",
    )
    unfreeze_balances = reason_action(
        services.balance_unfreeze,
        target="balance",
        description="Unfreeze selected balances",
        permission="freeze_balance",
        done_message="Unfroze {objects}.",
        label=lambda balance: f"the balance of {balance.wallet.address}",
    )


@admin.register(BalanceAsset)
class BalanceAssetAdmin(AssetMoneyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "wallet_link",
        "owner_link",
        "currency",
        "money_posted",
        "money_held",
        "money_credit_limit",
        "money_available",
        "updated",
    )
    list_filter = ("currency",)
    updated = moment_column("updated_at", description="Updated (UTC)")
    search_fields = ("balance__wallet__address", "balance__wallet__owner__email", "=balance__wallet__id")
    list_select_related = ("balance__wallet__owner", "currency")
    raw_id_fields = ("balance",)
    show_full_result_count = False
    fields = (
        "balance",
        "wallet_link",
        "owner_link",
        "currency",
        "money_posted",
        "money_held",
        "money_credit_limit",
        "money_available",
        "updated_at",
    )
    readonly_fields = fields
    Media = ListColumnsMedia

    @admin.display(description="Wallet", ordering="balance__wallet__address")
    def wallet_link(self, asset: BalanceAsset) -> str:
        return short_wallet_link(asset.balance.wallet)

    @admin.display(description="Owner", ordering="balance__wallet__owner__email")
    def owner_link(self, asset: BalanceAsset) -> str:
        return owner_link(asset.balance.wallet)


@admin.register(Currency)
class CurrencyAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "decimals", "is_active", "money_threshold", "money_daily_limit")
    list_filter = ("is_active",)
    search_fields = ("code", "name")

    Media = ListColumnsMedia

    @admin.display(description="Withdrawal approval threshold")
    def money_threshold(self, currency: Currency) -> str:
        return money(currency.withdrawal_approval_threshold, currency=currency.code, decimals=currency.decimals)

    @admin.display(description="Daily outgoing limit")
    def money_daily_limit(self, currency: Currency) -> str:
        return money(currency.daily_outgoing_limit, currency=currency.code, decimals=currency.decimals)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # Only hides the field: currency_update refuses new decimals once the currency is in use.
        return ("code", "decimals") if selectors.currency_in_use(code=obj.code) else ("code",)

    def service_save(self, actor, form, obj):
        fields = {name: form.cleaned_data[name] for name in services.CURRENCY_FIELDS if name in form.cleaned_data}
        if obj is None:
            return services.currency_create(actor=actor, code=form.cleaned_data["code"], **fields)
        return services.currency_update(actor=actor, currency=obj, **fields)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: balances and the ledger refer to it
