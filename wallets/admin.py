"""Wallets in the operators' admin. Status changes only through the block / unblock / close actions,
which ask for a reason and call the same services as the API; renaming calls ``wallet_rename``."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from walletmanager.admin import (
    Decision,
    ListColumnsMedia,
    StatusBanner,
    StatusBannerMixin,
    audit_changelist_url,
    link,
    moment_column,
    money,
    recent_audit_events_html,
    titled_filter,
    wallet_activity_html,
)
from walletmanager.admin_actions import reason_action, service_call
from walletmanager.admin_mixins import ServiceFormAdminMixin
from walletmanager.money import format_number
from wallets import services
from wallets.models import Wallet

# The permission of the balance's buttons, by name: wallets never imports balances.
FREEZE_PERMISSION = "balances.freeze_balance"


@admin.register(Wallet)
class WalletAdmin(ServiceFormAdminMixin, StatusBannerMixin, admin.ModelAdmin):
    list_display = (
        "address",
        "name",
        "owner_link",
        "kind",
        "state",
        "money_balance",
        "created",
    )
    # The balance is reached through the reverse one-to-one by name: wallets never imports balances.
    # Its fields are named like the wallet's ("kind", "status"): titled apart, not "By kind" twice.
    list_filter = (
        "kind",
        "status",
        ("balance__kind", titled_filter("balance kind")),
        ("balance__currency", titled_filter("balance currency")),
        ("balance__status", titled_filter("balance status")),
        "system_role",
    )
    search_fields = ("owner__email", "address", "=id")
    list_select_related = ("owner", "balance", "balance__currency")
    Media = ListColumnsMedia
    raw_id_fields = ("owner",)
    show_full_result_count = False
    ordering = ("-created_at",)
    actions = ["block_wallets", "unblock_wallets", "close_wallets"]
    # The balance first, where the operator's eye lands; who and what the wallet is after it.
    fieldsets = (
        ("Balance", {"fields": ("assets", "balance_link", "credit_limit_readable")}),
        (None, {"fields": ("address", "owner", "name", "kind", "system_role", "id")}),
        ("Status", {"fields": ("status", "block_reason", "blocked_at", "closed_at", "pin_lock")}),
        ("Statement", {"fields": ("statement",)}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
        ("Activity", {"fields": ("recent_transactions", "recent_audit_events")}),
    )
    # Adds the (empty) form the statement field's controls submit: a form cannot nest in the change form.
    change_form_template = "admin/wallets/wallet/change_form.html"
    readonly_fields = tuple(field for _, options in fieldsets for field in options["fields"] if field != "name")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner", "balance", "balance__currency")

    def get_changelist_instance(self, request):
        # Every row shows its balance per currency: the page's assets in one more query, not one per row.
        changelist = super().get_changelist_instance(request)
        prefetch_related_objects(changelist.result_list, "balance__assets__currency")
        return changelist

    def status_banners(self, wallet: Wallet) -> list[StatusBanner]:
        banners = []
        if wallet.status == Wallet.Status.BLOCKED:
            banners.append(
                StatusBanner(
                    "This wallet is blocked: nothing moves in or out.",
                    reason=wallet.block_reason,
                    since=wallet.blocked_at,
                )
            )
        elif wallet.status == Wallet.Status.CLOSED:
            banners.append(StatusBanner("This wallet is closed (final).", since=wallet.closed_at, level="closed"))
        balance = getattr(wallet, "balance", None)
        if balance is not None and balance.status == "frozen":
            banners.append(
                StatusBanner(
                    "Its balance is frozen: money comes in, nothing goes out.",
                    reason=balance.freeze_reason,
                    since=balance.frozen_at,
                )
            )
        if wallet.owner.status != "active" and not wallet.is_system:
            banners.append(
                StatusBanner(
                    f"Its owner is {wallet.owner.get_status_display().lower()}.",
                    reason=wallet.owner.block_reason,
                    since=wallet.owner.blocked_at,
                    level="warning" if wallet.owner.status == "blocked" else "closed",
                )
            )
        return banners

    def decisions(self, request, wallet: Wallet) -> list[Decision]:
        """Block / unblock / close the wallet, freeze / unfreeze its balance, on the wallet's own page:
        the services of the lists' actions and of the API. The balance's decisions post to the
        balance's own decide view (wallets never imports balances), which brings the operator back."""
        if wallet.is_system:
            return []
        found: list[Decision] = []
        if self.has_block_wallet_permission(request):
            call = {"target": "wallet"}
            if wallet.status == Wallet.Status.ACTIVE:
                found.append(
                    Decision(
                        "block",
                        "Block wallet",
                        service_call(services.wallet_block, **call),
                        f"Blocked wallet {wallet}.",
                        reason_required=True,
                        tone="danger",
                        note="nothing moves in or out until it is unblocked.",
                    )
                )
            elif wallet.status == Wallet.Status.BLOCKED:
                found.append(
                    Decision(
                        "unblock",
                        "Unblock wallet",
                        service_call(services.wallet_unblock, **call),
                        f"Unblocked wallet {wallet}.",
                    )
                )
            if wallet.status != Wallet.Status.CLOSED:
                found.append(
                    Decision(
                        "close",
                        "Close wallet",
                        service_call(services.wallet_close, **call),
                        f"Closed wallet {wallet}.",
                        reason_required=True,
                        tone="danger",
                        note="final, and only once it holds nothing.",
                    )
                )
        balance = getattr(wallet, "balance", None)
        if balance is not None and request.user.has_perm(FREEZE_PERMISSION):
            url = reverse("admin:balances_balance_decide", args=[balance.pk])
            if balance.status == "active":
                found.append(
                    Decision(
                        "freeze",
                        "Freeze balance",
                        None,
                        "",
                        reason_required=True,
                        tone="danger",
                        url=url,
                        note="money still comes in; nothing goes out until it is unfrozen.",
                    )
                )
            elif balance.status == "frozen":
                found.append(Decision("unfreeze", "Unfreeze balance", None, "", url=url))
        return found

    @admin.display(description="Owner", ordering="owner__email")
    def owner_link(self, wallet: Wallet) -> str:
        return link(reverse("admin:users_user_change", args=[wallet.owner_id]), wallet.owner.email)

    @admin.display(description="Balance")
    def balance_link(self, wallet: Wallet) -> str:
        balance = getattr(wallet, "balance", None)
        if balance is None:
            return "—"
        return link(
            reverse("admin:balances_balance_change", args=[balance.pk]),
            f"{balance.get_kind_display()} {balance.currency_id or ''} · {balance.get_status_display()}",
        )

    @admin.display(description="Recent transactions")
    def recent_transactions(self, wallet: Wallet) -> str:
        return wallet_activity_html([wallet.pk], search=wallet.address)

    @admin.display(description="Recent audit events")
    def recent_audit_events(self, wallet: Wallet) -> str:
        # The wallet's own events and its balance's (freeze / unfreeze).
        balance = getattr(wallet, "balance", None)
        targets = [wallet, balance] if balance is not None else [wallet]
        return recent_audit_events_html(targets, more_url=audit_changelist_url(*targets))

    def has_add_permission(self, request) -> bool:
        return False  # wallets are opened through the API (wallet_create), which also opens the balance

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # wallets are closed, never deleted

    def has_block_wallet_permission(self, request) -> bool:
        return request.user.has_perm(services.BLOCK_PERMISSION)

    def service_save(self, actor, form, obj):
        # The name is the one field an operator edits here; a refusal (a closed wallet) shows on the form.
        if "name" not in form.changed_data:
            return obj
        return services.wallet_update(actor=actor, wallet=obj, name=form.cleaned_data["name"])

    @admin.display(description="Balance", ordering="balance__kind")
    def balance_kind(self, wallet: Wallet) -> str:
        balance = getattr(wallet, "balance", None)
        return balance.get_kind_display() if balance else "—"

    created = moment_column("created_at", description="Created (UTC)")

    @admin.display(description="Balance (available)")
    def money_balance(self, wallet: Wallet) -> str:
        """What the wallet may spend, per currency it holds; "—" for a wallet that holds nothing yet."""
        balance = getattr(wallet, "balance", None)
        if balance is None:
            return "—"
        assets = sorted(balance.assets.all(), key=lambda asset: asset.currency_id)
        if not assets:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            "{}",
            (
                (money(asset.available, currency=asset.currency_id, decimals=asset.currency.decimals),)
                for asset in assets
            ),
        )

    @admin.display(description="Status", ordering="status")
    def state(self, wallet: Wallet) -> str:
        """The wallet's status, and its balance's when that is frozen: one column for both."""
        balance = getattr(wallet, "balance", None)
        frozen = balance is not None and balance.status == "frozen"
        return f"{wallet.get_status_display()}, balance frozen" if frozen else wallet.get_status_display()

    @admin.display(description="Credit limit")
    def credit_limit_readable(self, wallet: Wallet) -> str:
        balance = getattr(wallet, "balance", None)
        currency = getattr(balance, "currency", None)
        if currency is not None:
            return money(wallet.credit_limit, currency=currency.code, decimals=currency.decimals)
        # A multi-currency balance: the limit applies in each currency it holds, as money in each.
        assets = (
            sorted(balance.assets.select_related("currency"), key=lambda asset: asset.currency_id) if balance else []
        )
        if not assets:
            return f"{format_number(wallet.credit_limit, grouped=True)} in each currency it will hold"
        return format_html_join(
            " · ",
            "{}",
            (
                (money(wallet.credit_limit, currency=asset.currency_id, decimals=asset.currency.decimals),)
                for asset in assets
            ),
        )

    @admin.display(description="PIN locked until")
    def pin_lock(self, wallet: Wallet) -> str:
        locked_until = services.wallet_pin_locked_until(wallet=wallet)
        return locked_until.isoformat(timespec="seconds") if locked_until else "not locked"

    @admin.display(description="Assets")
    def assets(self, wallet: Wallet) -> str:
        balance = getattr(wallet, "balance", None)
        if balance is None:
            return "—"
        rows = [
            (
                asset.currency_id,
                money(asset.posted, currency=asset.currency_id, decimals=asset.currency.decimals),
                money(asset.held, currency=asset.currency_id, decimals=asset.currency.decimals),
                money(asset.available, currency=asset.currency_id, decimals=asset.currency.decimals),
            )
            for asset in balance.assets.select_related("currency")
        ]
        if not rows:
            return "No assets (system wallets keep none: their positions are the sums of their entries)."
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><thead><tr><th>Currency</th><th>Posted</th><th>Held</th><th>Available</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="Statement")
    def statement(self, wallet: Wallet) -> str:
        """A GET form for the statement API (SPEC §14), which takes the admin's session. The controls
        belong to ``#wallet-statement`` (outside the change form) through their ``form`` attribute."""
        balance = getattr(wallet, "balance", None)
        currencies = [asset.currency_id for asset in balance.assets.all()] if balance is not None else []
        if not currencies:
            return "No assets, so no statement."
        # The URL belongs to transactions (it reads the ledger); reached by name, so wallets imports nothing of it.
        url = reverse("wallet-statement", args=[wallet.pk])
        today = timezone.localdate()
        options = format_html_join("", '<option value="{}">{}</option>', ((code, code) for code in currencies))
        buttons = format_html_join(
            " ",
            '<button type="submit" form="wallet-statement" formaction="{}" name="format" value="{}">{}</button>',
            ((url, value, label) for value, label in (("csv", "CSV"), ("pdf", "PDF"), ("json", "View"))),
        )
        return format_html(
            '<label>Currency <select form="wallet-statement" name="currency">{}</select></label> '
            '<label>from <input form="wallet-statement" type="date" name="from" value="{}" required></label> '
            '<label>to <input form="wallet-statement" type="date" name="to" value="{}" required></label> {}',
            options,
            today.replace(day=1).isoformat(),
            today.isoformat(),
            buttons,
        )

    block_wallets = reason_action(
        services.wallet_block,
        target="wallet",
        description="Block selected wallets",
        permission="block_wallet",
        done_message="Blocked {objects}.",
        label=lambda wallet: f"wallet {wallet}",
    )
    unblock_wallets = reason_action(
        services.wallet_unblock,
        target="wallet",
        description="Unblock selected wallets",
        permission="block_wallet",
        done_message="Unblocked {objects}.",
        label=lambda wallet: f"wallet {wallet}",
    )
    close_wallets = reason_action(
        services.wallet_close,
        target="wallet",
        description="Close selected wallets (they must be empty)",
        permission="block_wallet",
        done_message="Closed {objects}.",
        label=lambda wallet: f"wallet {wallet}",
    )
