"""The ledger in the operators' admin (SPEC §8).

Money is never edited here: transactions and entries are read-only. Operators approve, reject and
reverse through reason-page actions, and make deposits and adjustments through a form; all of them
call the same services as the API. Rates and fee rules are edited here, with validation and an audit
event. Changelists stay fast on millions of rows: no per-row queries and no full ``COUNT(*)``.
"""

from __future__ import annotations

import functools
import re
import uuid
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from balances.models import Currency
from transactions import deposits, pricing, reversals, services
from transactions.csv_export import transaction_csv_rows
from transactions.desk import desk_item_for_request, desk_item_for_transaction
from transactions.models import Entry, ExchangeRate, FeeRule, ReconciliationRun, Transaction
from transactions.operator_search import SHORT_ID, id_range
from walletmanager.admin import (
    PANEL_ROWS,
    SHORT_ID_LENGTH,
    Decision,
    DecisionInput,
    EstimatedCountPaginator,
    IndexedDateHierarchyMixin,
    ListColumnsMedia,
    StatusBanner,
    StatusBannerMixin,
    audit_changelist_url,
    link,
    moment_column,
    money,
    money_column,
    recent_audit_events_html,
    register_request_context,
    register_wallet_activity_panel,
    short_wallet_link,
    shortened_id,
)
from walletmanager.admin_actions import reason_action, service_call
from walletmanager.admin_mixins import ReadOnlyAdminMixin, ServiceFormAdminMixin
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.services import approval_request
from walletmanager.audit_words import register_target_namer
from walletmanager.csv_download import csv_lines
from walletmanager.exceptions import DomainError, ValidationFailed
from walletmanager.money import format_money, format_number
from wallets.models import Wallet

# --- fast changelists ----------------------------------------------------------------------------


# --- the recent transactions of a user's or a wallet's page -------------------------------------


def transaction_changelist_url(search: str) -> str:
    """The transactions changelist searched for ``search`` (an owner's email, a wallet address)."""
    return f"{reverse('admin:transactions_transaction_changelist')}?{urlencode({'q': search})}"


def recent_transactions_html(wallet_ids: list[object], *, search: str) -> str:
    """The last ``PANEL_ROWS`` transactions into or out of any of ``wallet_ids``, newest first.

    One ordered index scan per wallet and direction (``tx_wallet_time_idx`` /
    ``tx_to_wallet_time_idx``) merged in PostgreSQL, so a wallet with a million transactions
    costs the same as one with ten.
    """
    if not wallet_ids:
        return "No wallets."
    newest = Transaction.objects.order_by("-created_at", "-id")
    ids: list[tuple[object, object]] = []
    for wallet_id in wallet_ids:
        for side in ("wallet_id", "to_wallet_id"):
            ids += newest.filter(**{side: wallet_id}).values_list("created_at", "id")[:PANEL_ROWS]
    chosen = [pk for _, pk in sorted(set(ids), reverse=True)[:PANEL_ROWS]]
    transactions = sorted(
        Transaction.objects.filter(pk__in=chosen).select_related("wallet", "to_wallet", "currency"),
        key=lambda transaction: (transaction.created_at, str(transaction.pk)),
        reverse=True,
    )
    if not transactions:
        return "No transactions yet."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                link(
                    reverse("admin:transactions_transaction_change", args=[tx.pk]), f"{tx.created_at:%Y-%m-%d %H:%M:%S}"
                ),
                tx.get_kind_display(),
                tx.get_status_display(),
                link(reverse("admin:wallets_wallet_change", args=[tx.wallet_id]), tx.wallet.address),
                money(tx.amount, currency=tx.currency_id, decimals=tx.currency.decimals),
                link(reverse("admin:wallets_wallet_change", args=[tx.to_wallet_id]), tx.to_wallet.address)
                if tx.to_wallet_id
                else "—",
            )
            for tx in transactions
        ),
    )
    return format_html(
        '<table class="related-panel"><thead><tr><th>When</th><th>Kind</th><th>Status</th><th>From wallet</th>'
        "<th>Amount</th><th>To wallet</th></tr></thead><tbody>{}</tbody></table><p>{}</p>",
        rows,
        link(transaction_changelist_url(search), "All transactions →"),
    )


# The user and wallet pages show this panel without importing the ledger.
register_wallet_activity_panel(recent_transactions_html)
# An approval request's page shows what the desk shows about it.
register_request_context(desk_item_for_request)


# --- transactions --------------------------------------------------------------------------------


class EntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Entry
    fields = ("wallet", "money_amount", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("wallet", "currency")

    money_amount = money_column("amount", description="Amount")


# The decisions on a pending transaction: the changelist's actions and the change page's buttons call these.
_approve_withdrawal = service_call(services.transaction_approve, target="transaction")
_reject_withdrawal = service_call(services.transaction_reject, target="transaction")
_confirm_deposit = service_call(deposits.deposit_confirm, target="transaction")
_reject_deposit = service_call(deposits.deposit_reject, target="transaction")
_request_reversal = service_call(approval_request, target="transaction", action="reverse")


def pending_reversal(transaction: Transaction) -> ApprovalRequest | None:
    """The reversal of ``transaction`` asked for and not decided yet, if any."""
    return (
        ApprovalRequest.objects.filter(
            action="reverse",
            status=ApprovalRequest.Status.PENDING,
            target_type="transactions.transaction",
            target_id=str(transaction.pk),
        )
        .select_related("requested_by")
        .first()
    )


def _confirmed_in_words(result: Transaction | ApprovalRequest, *, what: str) -> str:
    if isinstance(result, ApprovalRequest):
        return (
            f"Nothing posted yet: {result.summary}. Approval request {result.pk} waits for a second Finance "
            "operator on the approvals desk."
        )
    return f"Confirmed the {what}: it is posted."


def transaction_in_words(transaction: Transaction) -> str:
    """How messages name a transaction: "withdrawal 1a2b3c4d of 1,050.00 USD"."""
    amount = format_money(
        reversals.amount_moved(transaction), currency=transaction.currency_id, decimals=transaction.currency.decimals
    )
    return f"{transaction.get_kind_display().lower()} {str(transaction.pk)[:SHORT_ID_LENGTH]} of {amount}"


# The audit trail names a transaction the same way: "finance@… approved the withdrawal 3f2a1b2c of 10.00 USD".
register_target_namer("transactions.transaction", transaction_in_words)


@admin.register(Transaction)
class TransactionAdmin(IndexedDateHierarchyMixin, StatusBannerMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("short_id", "created", "kind", "status", "wallet_link", "owner_link", "money_amount", "money_fee")
    list_filter = ("kind", "status", "currency")
    date_hierarchy = "created_at"
    # Declared for the search box; get_search_results turns each kind of term into an indexed lookup.
    search_fields = ("=id", "=wallet__address", "=wallet__owner__email")
    search_help_text = (
        "A transaction id or its first eight characters, a deposit's reference (WM-…), a wallet address (either "
        "side) or an owner's email."
    )
    list_select_related = ("wallet", "wallet__owner", "currency")
    raw_id_fields = ("wallet", "to_wallet", "reverses", "created_by")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    ordering = ("-created_at", "-id")
    inlines = [EntryInline]
    actions = [
        "approve_withdrawals",
        "reject_withdrawals",
        "confirm_deposits",
        "reject_deposits",
        "reverse_transactions",
        "export_csv",
    ]
    fields = (
        "id",
        "kind",
        "status",
        "wallet",
        "owner_link",
        "money_amount",
        "money_fee",
        "to_wallet",
        "to_owner_link",
        "money_to_amount",
        "rate_readable",
        "description_shown",
        "reference",
        "money_received",
        "provider_id",
        "reverses",
        "reversed_by_link",
        "reason",
        "created_by",
        "created_at",
        "posted_at",
        "resolved_at",
        "audit_events",
    )
    readonly_fields = fields
    change_list_template = "admin/transactions/transaction/change_list.html"
    Media = ListColumnsMedia

    def get_queryset(self, request):
        # What each reversal's original received, joined: its amount column shows what moved.
        return reversals.with_amounts_moved(super().get_queryset(request))

    def action_checkbox(self, obj):
        # Django labels each row's checkbox with str(obj), whose amount is the stored one; a reversal
        # of a deposit is named by the amount that moved, as in its columns.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            f"Select this object for an action - {transaction_in_words(obj)}",
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        subtitle = {"subtitle": transaction_in_words(obj)} if obj is not None else {}
        return super().change_view(request, object_id, form_url, extra_context={**(extra_context or {}), **subtitle})

    def get_object(self, request, object_id, from_field=None):
        # The change page reads all of these; the changelist joins only list_select_related.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            return None
        obj = (
            self.get_queryset(request)
            .select_related(
                "wallet__owner", "currency", "to_wallet__owner", "to_currency", "created_by", "reverses", "reversed_by"
            )
            .get(pk=obj.pk)
        )
        reversal = pending_reversal(obj) if obj.status == Transaction.Status.POSTED else None
        if reversal is not None:
            obj.pending_reversal = reversal
        return obj

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(pk=uuid.UUID(term)), False
        except ValueError:
            pass
        if SHORT_ID.fullmatch(term.lower()):  # the id as this list shows it: a range of the primary key's index
            return queryset.filter(pk__range=id_range(term.lower())), False
        if term.upper().startswith("WM-"):  # a deposit's reference, as the client quotes it
            return queryset.filter(reference=term.upper()), False
        if "@" in term:
            wallets = Wallet.objects.filter(owner__email=term.lower())
        else:
            wallets = Wallet.objects.filter(address=term.upper())
        # The ids as literals, not a subquery: a page is then one ordered index scan per wallet and direction.
        wallet_ids = list(wallets.values_list("pk", flat=True))
        return queryset.involving_wallets(wallet_ids), False

    def status_banners(self, transaction: Transaction) -> list[StatusBanner]:
        if transaction.status == Transaction.Status.PENDING and transaction.kind == Transaction.Kind.DEPOSIT:
            return [
                StatusBanner(
                    f"Pending deposit: waits for {self._money_text(transaction.amount, transaction)} to arrive "
                    f"with the reference {transaction.reference} (the provider's callback, or Finance confirms it).",
                    since=transaction.created_at,
                    level="pending",
                )
            ]
        if transaction.status == Transaction.Status.PENDING:
            return [
                StatusBanner(
                    "Pending: waits for approval "
                    f"({self._money_text(transaction.amount + transaction.fee, transaction)} held).",
                    since=transaction.created_at,
                    level="pending",
                )
            ]
        reversal = getattr(transaction, "pending_reversal", None)
        if reversal is not None:
            return [
                StatusBanner(
                    f"Reversal requested by {reversal.requested_by.email} (request #{reversal.pk}): it waits for a "
                    "second operator on the approvals desk; until then this transaction stays posted.",
                    reason=reversal.reason,
                    since=reversal.created_at,
                    level="pending",
                )
            ]
        if transaction.status == Transaction.Status.REVERSED:
            return [
                StatusBanner(
                    "Reversed: a reversal transaction undid its entries.", reason=transaction.reason, level="closed"
                )
            ]
        return []

    def decisions(self, request, transaction: Transaction) -> list[Decision]:
        """Approve / reject a pending withdrawal, confirm / reject a pending deposit, ask for the reversal
        of a posted one: the services of the changelist's actions and of the API, behind the same
        permissions."""
        what = transaction_in_words(transaction)
        if transaction.status == Transaction.Status.POSTED:
            reversible = transaction.kind != Transaction.Kind.REVERSAL and not hasattr(transaction, "pending_reversal")
            if reversible and self.has_reverse_transaction_permission(request):
                return [
                    Decision(
                        "reverse",
                        "Request reversal",
                        _request_reversal,
                        f"Requested the reversal of the {what}: another operator with the same permission "
                        "approves it on the approvals desk.",
                        reason_required=True,
                        tone="danger",
                        note="nothing moves yet. A second operator with the reverse permission approves it on the "
                        "approvals desk; the reversal then posts the opposite entries and this transaction reads "
                        "reversed.",
                    )
                ]
            return []
        if transaction.status != Transaction.Status.PENDING:
            return []
        if transaction.kind == Transaction.Kind.WITHDRAWAL and self.has_approve_withdrawal_permission(request):
            return [
                Decision(
                    "approve",
                    "Approve",
                    _approve_withdrawal,
                    f"Approved the {what}: it is posted.",
                    tone="approve",
                    note="the held amount and fee leave the wallet now.",
                    back_to_desk=True,
                ),
                Decision(
                    "reject",
                    "Reject",
                    _reject_withdrawal,
                    f"Rejected the {what}; its hold is released.",
                    reason_required=True,
                    tone="reject",
                    note="the hold is released; the client sees the withdrawal rejected.",
                    back_to_desk=True,
                ),
            ]
        if transaction.kind == Transaction.Kind.DEPOSIT and self.has_confirm_deposit_permission(request):
            return [
                Decision(
                    "confirm",
                    "Confirm (the money arrived)",
                    _confirm_deposit,
                    functools.partial(_confirmed_in_words, what=what),
                    tone="approve",
                    back_to_desk=True,
                    inputs=(
                        DecisionInput(
                            "received_amount",
                            f"Amount received, if not {self._money_text(transaction.amount, transaction)} "
                            "(another amount goes to a second Finance operator):",
                        ),
                    ),
                ),
                Decision(
                    "reject",
                    "Reject (the money did not arrive)",
                    _reject_deposit,
                    f"Rejected the {what}.",
                    reason_required=True,
                    tone="reject",
                    back_to_desk=True,
                ),
            ]
        return []

    def decision_refusal(self, request, transaction: Transaction) -> str:
        if (
            transaction.kind == Transaction.Kind.DEPOSIT
            and transaction.status == Transaction.Status.PENDING
            and transaction.created_by_id == request.user.pk
        ):
            return "You recorded this deposit; another operator must confirm or reject it."
        if transaction.wallet.owner_id == request.user.pk or (
            transaction.to_wallet_id and transaction.to_wallet.owner_id == request.user.pk
        ):
            return "It is your own wallet; another operator must decide."
        return ""

    def decision_context(self, request, transaction: Transaction):
        if transaction.status != Transaction.Status.PENDING:
            return None
        return desk_item_for_transaction(transaction=transaction, user=request.user)

    @staticmethod
    def _money_text(amount: Decimal, transaction: Transaction) -> str:
        return format_money(amount, currency=transaction.currency_id, decimals=transaction.currency.decimals)

    @admin.display(description="ID", ordering="id")
    def short_id(self, transaction: Transaction) -> str:
        return shortened_id(transaction.pk)

    created = moment_column("created_at", description="Created (UTC)")

    @admin.display(description="Amount", ordering="amount")
    def money_amount(self, transaction: Transaction) -> str:
        # A reversal of a deposit moved what its original received, not the amount asked for.
        return money(
            reversals.amount_moved(transaction),
            currency=transaction.currency_id,
            decimals=transaction.currency.decimals,
        )

    @admin.display(description="Description")
    def description_shown(self, transaction: Transaction) -> str:
        return reversals.description_shown(transaction)

    money_fee = money_column("fee", description="Fee")
    money_received = money_column("received_amount", description="Received")
    money_to_amount = money_column("to_amount", description="To amount", currency="to_currency")

    @admin.display(description="Rate")
    def rate_readable(self, transaction: Transaction) -> str:
        if transaction.rate is None:
            return "—"
        return f"1 {transaction.currency_id} = {format_number(transaction.rate)} {transaction.to_currency_id}"

    @admin.display(description="Wallet", ordering="wallet__address")
    def wallet_link(self, transaction: Transaction) -> str:
        return short_wallet_link(transaction.wallet)

    @admin.display(description="Owner")
    def owner_link(self, transaction: Transaction) -> str:
        owner = transaction.wallet.owner
        return link(reverse("admin:users_user_change", args=[owner.pk]), owner.email)

    @admin.display(description="Recipient's owner")
    def to_owner_link(self, transaction: Transaction) -> str:
        if transaction.to_wallet_id is None:
            return "—"
        owner = transaction.to_wallet.owner
        return link(reverse("admin:users_user_change", args=[owner.pk]), owner.email)

    @admin.display(description="Audit events")
    def audit_events(self, transaction: Transaction) -> str:
        return recent_audit_events_html([transaction], more_url=audit_changelist_url(transaction))

    @admin.display(description="Reversed by")
    def reversed_by_link(self, transaction: Transaction) -> str:
        reversal = getattr(transaction, "reversed_by", None)
        if reversal is None:
            return "—"
        url = reverse("admin:transactions_transaction_change", args=[reversal.pk])
        return link(url, reversal.pk)

    # permissions of the actions (Django hides an action from operators without it)

    def has_approve_withdrawal_permission(self, request) -> bool:
        return request.user.has_perm(services.APPROVE_PERMISSION)

    def has_reverse_transaction_permission(self, request) -> bool:
        return request.user.has_perm(services.REVERSE_PERMISSION)

    def has_adjust_balance_permission(self, request) -> bool:
        return request.user.has_perm(services.ADJUST_PERMISSION)

    def has_confirm_deposit_permission(self, request) -> bool:
        return request.user.has_perm(deposits.CONFIRM_PERMISSION)

    def has_move_money_permission(self, request) -> bool:
        return self.has_adjust_balance_permission(request) or self.has_confirm_deposit_permission(request)

    approve_withdrawals = reason_action(
        services.transaction_approve,
        target="transaction",
        description="Approve selected pending withdrawals",
        permission="approve_withdrawal",
        done_message="Approved {objects}: posted.",
        label=transaction_in_words,
        reason_required=False,
    )
    reject_withdrawals = reason_action(
        services.transaction_reject,
        target="transaction",
        description="Reject selected pending withdrawals",
        permission="approve_withdrawal",
        done_message="Rejected {objects}; the held money is released.",
        label=transaction_in_words,
    )
    confirm_deposits = reason_action(
        deposits.deposit_confirm,
        target="transaction",
        description="Confirm selected pending deposits (the money arrived)",
        permission="confirm_deposit",
        done_message="Confirmed {objects}: posted.",
        label=transaction_in_words,
    )
    reject_deposits = reason_action(
        deposits.deposit_reject,
        target="transaction",
        description="Reject selected pending deposits (the money did not arrive)",
        permission="confirm_deposit",
        done_message="Rejected {objects}.",
        label=transaction_in_words,
    )
    reverse_transactions = reason_action(
        approval_request,
        target="transaction",
        action="reverse",
        description="Request reversal of selected posted transactions (a second operator approves)",
        permission="reverse_transaction",
        done_message="Requested the reversal of {objects}: another operator with the same permission approves "
        "it in Approvals.",
        label=transaction_in_words,
        state_field=None,  # the transaction stays posted until the request is approved
    )

    @admin.action(description="Export selected transactions as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        rows = transaction_csv_rows(queryset.select_related(None).order_by("created_at", "id"))
        filename = f"transactions-{timezone.now():%Y%m%d-%H%M%S}.csv"
        return StreamingHttpResponse(
            csv_lines(rows),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    # the deposit / adjustment form

    def get_urls(self):
        custom = [
            path(
                "new-movement/",
                self.admin_site.admin_view(self.money_movement_view),
                name="transactions_transaction_money_movement",
            ),
        ]
        return custom + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_move_money": self.has_move_money_permission(request)}
        return super().changelist_view(request, extra_context=extra_context)

    def money_movement_view(self, request: HttpRequest):
        if not self.has_move_money_permission(request):
            raise PermissionDenied
        form = MoneyMovementForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = form.execute(actor=request.user)
            except ValidationFailed as error:
                form.add_error(error.field if error.field in form.fields else None, error.detail)
            except DomainError as error:
                form.add_error(None, f"{error.detail} ({error.code})")
            else:
                if isinstance(result, ApprovalRequest):
                    self.message_user(
                        request,
                        f"Requested: {result.summary}. Another operator approves it in Approvals.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:approvals_approvalrequest_change", args=[result.pk]))
                self.message_user(
                    request,
                    f"Recorded a pending deposit {result.reference}: another Finance operator confirms it "
                    "when the money has arrived.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:transactions_transaction_change", args=[result.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "New deposit or adjustment",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/transactions/transaction/money_movement.html", context)


class MoneyMovementForm(forms.Form):
    """What an operator types to credit or debit a client wallet; the service decides if it may happen."""

    OPERATIONS = [
        ("deposit", "Deposit expected from outside (pending until another operator confirms the money arrived)"),
        ("credit", "Adjustment: credit the wallet (a second operator approves it)"),
        ("debit", "Adjustment: debit the wallet (a second operator approves it)"),
    ]

    wallet = forms.CharField(max_length=64, help_text="The wallet's id or its address.")
    operation = forms.ChoiceField(choices=OPERATIONS)
    currency = forms.ModelChoiceField(queryset=Currency.objects.filter(is_active=True), to_field_name="code")
    amount = forms.CharField(max_length=64, help_text="In the currency's units, e.g. 10.50. Never rounded.")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=1000,
        required=False,
        help_text="Required for adjustments (audit trail). For a deposit it becomes the description.",
    )

    def clean_wallet(self) -> Wallet:
        value = self.cleaned_data["wallet"].strip()
        try:
            lookup = {"pk": uuid.UUID(value)}
        except ValueError:
            lookup = {"address": value.upper()}
        wallet = Wallet.objects.filter(system_role__isnull=True, **lookup).first()
        if wallet is None:
            raise forms.ValidationError("No client wallet with this id or address.")
        return wallet

    def clean(self):
        # Which fields are required depends on the operation: the form says so before the service would.
        cleaned = super().clean()
        if cleaned.get("operation") in ("credit", "debit") and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "An adjustment needs a reason.")
        return cleaned

    def execute(self, *, actor) -> Transaction | ApprovalRequest:
        data = self.cleaned_data
        if data["operation"] == "deposit":
            return deposits.transaction_deposit(
                actor=actor,
                wallet=data["wallet"],
                currency=data["currency"],
                amount=data["amount"],
                description=data["reason"][:255],
            )
        return approval_request(
            actor=actor,
            action="adjust",
            reason=data["reason"],
            wallet=data["wallet"],
            currency=data["currency"],
            amount=data["amount"],
            direction=data["operation"],
        )


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("short_id", "created_at", "transaction_link", "wallet", "money_amount")
    list_filter = ("currency",)
    search_fields = ("=transaction__id", "=wallet__address")
    search_help_text = "A transaction id or a wallet address."
    list_select_related = ("wallet", "currency")
    raw_id_fields = ("transaction", "wallet")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 100
    fields = ("id", "transaction", "wallet", "money_amount", "created_at")
    readonly_fields = fields
    Media = ListColumnsMedia

    @admin.display(description="ID", ordering="id")
    def short_id(self, entry: Entry) -> str:
        return shortened_id(entry.pk)

    @admin.display(description="Transaction")
    def transaction_link(self, entry: Entry) -> str:
        return shortened_id(
            entry.transaction_id, url=reverse("admin:transactions_transaction_change", args=[entry.transaction_id])
        )

    money_amount = money_column("amount", description="Amount", ordering="amount")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(transaction_id=uuid.UUID(term)), False
        except ValueError:
            return queryset.filter(wallet__address=term.upper()), False


# --- what prices money: rates and fee rules ------------------------------------------------------


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    fields = ("base", "quote", "rate", "source")
    list_display = ("base", "quote", "money_rate", "source", "created_at")
    list_filter = ("base", "quote", "source")
    list_select_related = ("base", "quote")
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = ("created_at",)
    Media = ListColumnsMedia

    @admin.display(description="Rate", ordering="rate")
    def money_rate(self, rate: ExchangeRate) -> str:
        return format_html('<span class="money">{}</span>', format_number(rate.rate))

    def service_save(self, actor, form, obj):
        data = form.cleaned_data
        quote = pricing.RateQuote(
            base=data["base"].code, quote=data["quote"].code, rate=data["rate"], source=data["source"]
        )
        return pricing.exchange_rate_set(actor=actor, rates=[quote])[0]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a rate is a fact of its time: a new row supersedes it (add one), never an edit

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the rate history explains past exchanges; a new row supersedes an old one


class FeeRuleForm(forms.ModelForm):
    """Parses a fee rule; ``fee_rule_create`` / ``fee_rule_update`` judge it."""

    kind = forms.ChoiceField(
        choices=[(value, label) for value, label in Transaction.Kind.choices if value in pricing.CHARGEABLE_KINDS]
    )

    class Meta:
        model = FeeRule
        fields = pricing.FEE_RULE_FIELDS
        labels = {"percent_bps": "Percentage (in hundredths of a percent)"}
        help_texts = {"percent_bps": "50 = 0.5 %, 100 = 1 %."}


@admin.register(FeeRule)
class FeeRuleAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    form = FeeRuleForm
    list_display = (
        "kind",
        "currency_or_any",
        "percentage",
        "money_flat",
        "money_min_fee",
        "money_max_fee",
        "is_active",
        "updated_at",
    )
    list_filter = ("kind", "currency", "is_active")
    list_select_related = ("currency",)
    readonly_fields = ("created_at", "updated_at")
    Media = ListColumnsMedia

    @staticmethod
    def _fee(rule: FeeRule, amount: Decimal | None) -> str:
        if amount is None:
            return "—"
        if rule.currency_id is None:  # a rule for any currency: its amounts are in the transaction's currency
            return format_html('<span class="money">{} (any currency)</span>', format_number(amount, grouped=True))
        return money(amount, currency=rule.currency_id, decimals=rule.currency.decimals)

    @admin.display(description="Percentage", ordering="percent_bps")
    def percentage(self, rule: FeeRule) -> str:
        """Basis points as operators say them: 50 → "0.5 %"."""
        return f"{format_number(Decimal(rule.percent_bps) / 100)} %"

    @admin.display(description="Currency", ordering="currency")
    def currency_or_any(self, rule: FeeRule) -> str:
        return rule.currency_id or "Any currency"

    @admin.display(description="Flat fee")
    def money_flat(self, rule: FeeRule) -> str:
        return self._fee(rule, rule.flat)

    @admin.display(description="Minimum fee")
    def money_min_fee(self, rule: FeeRule) -> str:
        return self._fee(rule, rule.min_fee)

    @admin.display(description="Maximum fee")
    def money_max_fee(self, rule: FeeRule) -> str:
        return self._fee(rule, rule.max_fee)

    def service_save(self, actor, form, obj):
        fields = {name: form.cleaned_data[name] for name in pricing.FEE_RULE_FIELDS}
        if obj is None:
            return pricing.fee_rule_create(actor=actor, **fields)
        return pricing.fee_rule_update(actor=actor, rule=obj, **fields)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: the history explains the fees already charged


# --- reconciliation results ----------------------------------------------------------------------


def _report_cell(value: object) -> str:
    """A stored report's value as the admin shows it: an amount (stored as its 18-decimal string)
    with its exact digits only, anything else as it is."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+\.\d+", value):
        return format_number(Decimal(value), grouped=True)
    return "—" if value is None else str(value)


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("started_at", "is_clean", "duration", "drift")
    list_filter = ("is_clean",)
    date_hierarchy = "started_at"
    show_full_result_count = False
    fields = ("started_at", "finished_at", "is_clean", "checks")
    readonly_fields = fields

    @admin.display(description="Duration")
    def duration(self, run: ReconciliationRun) -> str:
        return f"{(run.finished_at - run.started_at).total_seconds():.2f} s"

    @admin.display(description="Checks with drift")
    def drift(self, run: ReconciliationRun) -> str:
        failing = [check["name"] for check in run.report.get("checks", []) if not check.get("ok")]
        return ", ".join(failing) or "—"

    @admin.display(description="Checks")
    def checks(self, run: ReconciliationRun) -> str:
        rows = [
            (
                check["name"],
                "OK" if check["ok"] else f"DRIFT ({check['count']})",
                check["description"],
                "; ".join(" | ".join(_report_cell(value) for value in row) for row in check["rows"]),
            )
            for check in run.report.get("checks", [])
        ]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><thead><tr><th>Check</th><th>Result</th><th>Invariant</th><th>Offending rows</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            body,
        )
