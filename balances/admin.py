"""Balances, assets and currencies in the operators' admin. Money is never editable here: assets
change only through the ledger; balances change status only through the freeze / unfreeze actions."""

from __future__ import annotations

from django.contrib import admin

from balances import services
from balances.models import Balance, BalanceAsset, Currency
from walletmanager.admin import StatusBanner, StatusBannerMixin, audit_changelist_url, recent_audit_events_html
from walletmanager.admin_actions import reason_action
from walletmanager.admin_mixins import ReadOnlyAdminMixin
from walletmanager.money import format_amount


class AssetInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = BalanceAsset
    fields = ("currency", "posted", "held", "credit_limit", "available", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("currency")

    @admin.display(description="Available")
    def available(self, asset: BalanceAsset) -> str:
        return format_amount(asset.available, decimals=asset.currency.decimals)


@admin.register(Balance)
class BalanceAdmin(StatusBannerMixin, admin.ModelAdmin):
    list_display = ("wallet", "kind", "currency", "status", "frozen_at", "created_at")
    list_filter = ("kind", "status", "currency")
    search_fields = ("wallet__address", "wallet__owner__email", "=wallet__id")
    list_select_related = ("wallet", "currency")
    raw_id_fields = ("wallet",)
    show_full_result_count = False
    readonly_fields = (
        "wallet", "kind", "currency", "status", "freeze_reason", "frozen_at", "created_at", "recent_audit_events",
    )
    inlines = [AssetInline]
    actions = ["freeze_balances", "unfreeze_balances"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("wallet", "currency")

    def status_banners(self, balance: Balance) -> list[StatusBanner]:
        banners = []
        if balance.status == Balance.Status.FROZEN:
            banners.append(StatusBanner("This balance is frozen: money comes in, nothing goes out.",
                                        reason=balance.freeze_reason, since=balance.frozen_at))
        if balance.wallet.status != "active":
            banners.append(StatusBanner(f"Its wallet is {balance.wallet.get_status_display().lower()}.",
                                        reason=balance.wallet.block_reason,
                                        level="warning" if balance.wallet.status == "blocked" else "closed"))
        return banners

    @admin.display(description="Recent audit events")
    def recent_audit_events(self, balance: Balance) -> str:
        return recent_audit_events_html([balance], more_url=audit_changelist_url(balance))

    def has_add_permission(self, request) -> bool:
        return False  # opened with its wallet

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_freeze_balance_permission(self, request) -> bool:
        return request.user.has_perm("balances.freeze_balance")

    freeze_balances = reason_action(
        name="freeze_balances",
        description="Freeze selected balances",
        permission="freeze_balance",
        call=lambda actor, balance, reason: services.balance_freeze(actor=actor, balance=balance, reason=reason),
        done_message="Froze {count} balance(s).",
    )
    unfreeze_balances = reason_action(
        name="unfreeze_balances",
        description="Unfreeze selected balances",
        permission="freeze_balance",
        call=lambda actor, balance, reason: services.balance_unfreeze(actor=actor, balance=balance, reason=reason),
        done_message="Unfroze {count} balance(s).",
    )


@admin.register(BalanceAsset)
class BalanceAssetAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("balance", "currency", "posted", "held", "credit_limit", "updated_at")
    list_filter = ("currency",)
    search_fields = ("balance__wallet__address", "balance__wallet__owner__email", "=balance__wallet__id")
    list_select_related = ("balance", "currency")
    raw_id_fields = ("balance",)
    show_full_result_count = False


@admin.register(Currency)
class CurrencyAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "decimals", "is_active", "withdrawal_approval_threshold")
    list_filter = ("is_active",)
    search_fields = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # Changing the precision of a currency someone already holds would reinterpret their amounts.
        in_use = BalanceAsset.objects.filter(currency=obj).exists() or Balance.objects.filter(currency=obj).exists()
        return ("code", "decimals") if in_use else ("code",)

    def save_model(self, request, obj, form, change):
        services.currency_save(actor=request.user, currency=obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: balances and the ledger refer to it
