"""The audit trail in the admin, and the cross-links every operator page shares (SPEC §8).

Operators follow a case from a user to their wallets, transactions and audit events and back. The
helpers here build those links and the "recent …" panels for the other apps' admins; the ledger
registers its own panel (``register_wallet_activity_panel``), so neither the kernel nor the lower
apps (users, wallets, balances) import ``transactions``. Every panel is a fixed number of indexed
queries, whatever the row counts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from urllib.parse import urlencode

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Max, Min, Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme

from walletmanager.audit_words import (
    ActorFilter,
    DateRangeFilter,
    action_in_words,
    data_table,
    event_sentence,
    load_targets,
    target_in_words,
    target_type_in_words,
)
from walletmanager.exceptions import DomainError
from walletmanager.models import AuditEvent
from walletmanager.money import format_money

PANEL_ROWS = 20
_TARGET_TERM = re.compile(r"^[a-z_]+\.[a-z_]+:[0-9A-Za-z-]{1,64}$")


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts a huge table row by row.

    Unfiltered, it takes PostgreSQL's planner estimate (``pg_class.reltuples``, kept fresh by
    autovacuum) once the table is past ``exact_count_limit`` rows; filtered, it counts at most
    ``exact_count_limit + 1`` rows, so a broad filter costs a bounded scan and pages stop there.
    """

    exact_count_limit = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where:
            estimate = _estimated_rows(queryset.model._meta.db_table)
            if estimate > self.exact_count_limit:
                return estimate
        return queryset.order_by()[: self.exact_count_limit + 1].count()


def _estimated_rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    # -1 means "never analysed"; the caller then counts (cheaply, the table is new and small).
    return int(row[0]) if row and row[0] is not None else -1


# --- a date hierarchy that does not scan the table ---------------------------------------------

# Above this many periods the stock (scanning) query is used; the drill-down never asks for that many.
DATE_PROBE_LIMIT = 400


class IndexedDateHierarchyQuerySet(QuerySet):
    """``datetimes()`` for the admin's date hierarchy without ``SELECT DISTINCT date_trunc(...)``
    over every row: the bounds come from MIN/MAX (two index probes) and each candidate year, month or
    day from an indexed ``EXISTS`` on its range, so drilling down costs a few milliseconds at any size."""

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None, is_dst=None):
        if kind not in ("year", "month", "day"):
            return super().datetimes(field_name, kind, order=order, tzinfo=tzinfo)
        bounds = self.order_by().aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        zone = tzinfo or timezone.get_current_timezone()
        periods = list(_periods(bounds["first"].astimezone(zone), bounds["last"].astimezone(zone), kind, zone))
        if len(periods) > DATE_PROBE_LIMIT:
            return super().datetimes(field_name, kind, order=order, tzinfo=tzinfo)
        found = [
            start
            for start, end in periods
            if self.order_by().filter(**{f"{field_name}__gte": start, f"{field_name}__lt": end}).exists()
        ]
        return found if order == "ASC" else found[::-1]


def _periods(first: datetime, last: datetime, kind: str, zone: tzinfo) -> Iterator[tuple[datetime, datetime]]:
    def start_of(moment: datetime) -> datetime:
        if kind == "year":
            naive = datetime(moment.year, 1, 1)
        elif kind == "month":
            naive = datetime(moment.year, moment.month, 1)
        else:
            naive = datetime(moment.year, moment.month, moment.day)
        return timezone.make_aware(naive, zone)

    def following(start: datetime) -> datetime:
        if kind == "year":
            naive = datetime(start.year + 1, 1, 1)
        elif kind == "month":
            naive = datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
        else:
            naive = datetime.fromordinal(start.toordinal() + 1)
        return timezone.make_aware(naive, zone)

    start = start_of(first)
    while start <= last:
        end = following(start)
        yield start, end
        start = end


class IndexedDateHierarchyMixin:
    """For a ModelAdmin with ``date_hierarchy`` on an indexed column of a huge table."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        indexed = _with_indexed_dates(type(queryset))
        return indexed(model=queryset.model, query=queryset.query.chain(), using=queryset._db)


@functools.cache
def _with_indexed_dates(queryset_class: type[QuerySet]) -> type[QuerySet]:
    """The model's own QuerySet class (its methods stay available to the admin) with indexed ``datetimes``."""
    if issubclass(queryset_class, IndexedDateHierarchyQuerySet):
        return queryset_class
    return type(f"IndexedDate{queryset_class.__name__}", (IndexedDateHierarchyQuerySet, queryset_class), {})


# --- list filters that do not scan the table ----------------------------------------------------


def indexed_values_filter(
    field_name: str, title: str, label: Callable[[str], str] | None = None
) -> type[admin.SimpleListFilter]:
    """A list filter on ``field_name`` whose choices come from a loose index scan (one index probe per
    distinct value, recursive CTE) instead of ``SELECT DISTINCT`` over every row. ``field_name`` must
    lead an index. ``label`` says each stored value in words (sorted by them)."""

    class IndexedValuesFilter(admin.SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request, model_admin):
            table = connection.ops.quote_name(model_admin.model._meta.db_table)
            column = connection.ops.quote_name(model_admin.model._meta.get_field(field_name).column)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""
                    WITH RECURSIVE found(value) AS (
                        (SELECT {column} FROM {table} ORDER BY {column} LIMIT 1)
                        UNION ALL
                        SELECT (SELECT {column} FROM {table} WHERE {column} > found.value ORDER BY {column} LIMIT 1)
                          FROM found WHERE found.value IS NOT NULL
                    )
                    SELECT value FROM found WHERE value IS NOT NULL
                    """
                )
                values = [value for (value,) in cursor.fetchall()]
            if label is None:
                return [(value, value) for value in values]
            return sorted(((value, label(value)) for value in values), key=lambda choice: choice[1])

        def queryset(self, request, queryset):
            value = self.value()
            return queryset.filter(**{field_name: value}) if value else queryset

    IndexedValuesFilter.title = title
    return IndexedValuesFilter


# --- links ---------------------------------------------------------------------------------------


def admin_change_url(target_type: str, target_id: object) -> str | None:
    """The admin page of ``app_label.model_name`` #id, or None when the admin has no page for it."""
    app_label, _, model_name = target_type.partition(".")
    try:
        return reverse(f"admin:{app_label}_{model_name}_change", args=[target_id])
    except NoReverseMatch:
        return None


def target_names(targets: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """What each ``(app_label.model_name, id)`` is, in words ("User ada@example.com", "Wallet Main (7K…)",
    "Transaction withdrawal 1,050.00 USD (pending)"): one query per kind of target, whatever their number."""
    wanted: dict[str, set[str]] = {}
    for target_type, target_id in targets:
        if target_id:
            wanted.setdefault(target_type, set()).add(target_id)
    names: dict[tuple[str, str], str] = {}
    for target_type, ids in wanted.items():
        try:
            model = apps.get_model(target_type)
        except (LookupError, ValueError):
            continue
        # A name may read a related row (a balance its wallet, a transaction its currency): join them.
        joined = [field.name for field in model._meta.concrete_fields if field.many_to_one]
        label = str(model._meta.verbose_name).capitalize()
        for pk, obj in model._default_manager.select_related(*joined).in_bulk(list(ids)).items():
            names[(target_type, str(pk))] = f"{label} {obj}"
    return names


def target_link(target_type: str, target_id: str, names: dict[tuple[str, str], str]) -> str:
    """An object by name, linked to its admin page; its type and id when it has no row (any more)."""
    name = names.get((target_type, target_id)) or f"{target_type} {target_id}".strip()
    return link(admin_change_url(target_type, target_id) if target_id else None, name)


def audit_target_names(events: Iterable[AuditEvent]) -> dict[tuple[str, str], str]:
    """The names of the events' targets (``target_names``)."""
    return target_names((event.target_type, event.target_id) for event in events)


def audit_target_link(event: AuditEvent, names: dict[tuple[str, str], str]) -> str:
    """The event's target by name, linked to its admin page; its type and id when it has no row."""
    return target_link(event.target_type, event.target_id, names)


def audit_changelist_url(*targets: Model) -> str:
    """The audit changelist filtered to the events about ``targets`` (one object: exact filter;
    several: a search for ``type:id`` terms, see ``AuditEventAdmin.get_search_results``)."""
    base = reverse("admin:walletmanager_auditevent_changelist")
    if len(targets) == 1:
        target = targets[0]
        return f"{base}?{urlencode({'target_type': target._meta.label_lower, 'target_id': str(target.pk)})}"
    return f"{base}?{urlencode({'q': ' '.join(f'{target._meta.label_lower}:{target.pk}' for target in targets)})}"


def link(url: str | None, text: object) -> str:
    return format_html('<a href="{}">{}</a>', url, text) if url else format_html("{}", text)


def wallet_link(wallet: Model) -> str:
    """A wallet's address, linked to its page."""
    return link(reverse("admin:wallets_wallet_change", args=[wallet.pk]), wallet.address)


def short_wallet_link(wallet: Model) -> str:
    """A wallet's address in a list, its first ten characters (the full address on hover and on its page):
    a 26-character column pushes the money off a 1 280 px screen."""
    url = reverse("admin:wallets_wallet_change", args=[wallet.pk])
    return format_html('<a href="{}" title="{}" class="short-id">{}…</a>', url, wallet.address, wallet.address[:10])


def owner_link(wallet: Model) -> str:
    """The email of a wallet's owner, linked to their page (the wallet's ``owner`` must be joined)."""
    return link(reverse("admin:users_user_change", args=[wallet.owner_id]), wallet.owner.email)


# --- columns that fit a 1 440 px screen ------------------------------------------------------------

SHORT_ID_LENGTH = 8


def shortened_id(value: object, *, url: str | None = None) -> str:
    """An id's first eight characters, the full id on hover (and on the object's own page)."""
    text = str(value)
    if url:
        return format_html('<a href="{}" title="{}" class="short-id">{}</a>', url, text, text[:SHORT_ID_LENGTH])
    return format_html('<span title="{}" class="short-id">{}</span>', text, text[:SHORT_ID_LENGTH])


def moment_column(field: str, *, description: str):
    """A ModelAdmin list column showing ``obj.<field>`` as a compact UTC moment ("2026-11-26 00:54"),
    the full instant on hover: the admin's long dates push the amounts off a 1 440 px screen."""

    def column(modeladmin, obj) -> str:
        value = getattr(obj, field)
        if value is None:
            return "—"
        utc = value.astimezone(UTC)
        return format_html('<span title="{}" class="moment">{}</span>', utc.isoformat(), utc.strftime("%Y-%m-%d %H:%M"))

    return admin.display(description=description, ordering=field)(column)


def money(amount, *, currency: str, decimals: int) -> str:
    """An amount as operators read it ("10,500.00 USD"), kept on one line; "—" for none."""
    if amount is None:
        return "—"
    return format_html('<span class="money">{}</span>', format_money(amount, currency=currency, decimals=decimals))


def money_column(field: str, *, description: str, currency: str = "currency", ordering: str | None = None):
    """A ModelAdmin column (list or page) showing ``obj.<field>`` as money in ``obj.<currency>``
    (a joined ``Currency``); "—" when the object has no such currency."""

    def column(modeladmin, obj) -> str:
        if getattr(obj, f"{currency}_id") is None:
            return "—"
        return money(
            getattr(obj, field), currency=getattr(obj, f"{currency}_id"), decimals=getattr(obj, currency).decimals
        )

    return admin.display(description=description, ordering=ordering)(column)


class ListColumnsMedia:
    """The stylesheet that right-aligns the ``money_*`` columns of a changelist (``ModelAdmin.Media``)."""

    css = {"all": ["walletmanager/admin-lists.css"]}


def titled_filter(title: str) -> type[admin.FieldListFilter]:
    """Django's own filter for a field, under another title: two fields named alike ("kind" of the
    wallet and of its balance) would otherwise both show as "By kind"."""

    class TitledFilter(admin.FieldListFilter):
        def __new__(cls, field, request, params, model, model_admin, field_path):
            chosen = admin.FieldListFilter.create(field, request, params, model, model_admin, field_path)
            chosen.title = title
            return chosen

    return TitledFilter


# --- status banners ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusBanner:
    """What the change page of a blocked, frozen, closed or pending object says above its form."""

    title: str
    reason: str = ""
    since: object = None
    level: str = "warning"  # "closed", or "pending": a normal state waiting for someone, not an error


@dataclass(frozen=True)
class DecisionInput:
    """A field typed beside the reason and passed to one decision's ``run`` by ``name`` (e.g. the
    amount a deposit's money actually came to); left empty, it is passed as ""."""

    name: str
    label: str


@dataclass(frozen=True)
class Decision:
    """A button on an object's own page (the approvals desk links there): ``run(actor, obj, reason,
    **inputs)`` calls the service; ``done`` is what the operator is told when it did (text, or made
    from what the service returned).

    ``reason_required``: the browser asks for the reason before it sends (and the page refuses an
    empty one before the service runs). ``tone`` sets the button apart: "approve" (the go-ahead),
    "reject" and "danger" (what stops or undoes), "neutral". ``note`` says the rule the operator
    should know before clicking ("a second operator approves it"). ``url`` sends the decision to
    another object's page (a wallet's page freezes its balance through the balance's own decide
    view); ``run`` is then None. ``back_to_desk``: after it, the operator goes to the approvals
    desk (the next item waiting) instead of staying on the page. ``inputs``: fields typed beside the
    reason, passed to ``run`` by name."""

    name: str
    label: str
    run: Callable[..., object] | None
    done: str | Callable[[object], str]
    reason_required: bool = False
    tone: str = "neutral"
    note: str = ""
    url: str | None = None
    back_to_desk: bool = False
    inputs: tuple[DecisionInput, ...] = ()


class StatusBannerMixin:
    """Pass ``status_banners(obj)``, ``decisions(request, obj)`` and ``decision_context(request, obj)``
    to ``templates/admin/change_form_with_status.html``; a decision posts to ``<id>/decide/``."""

    change_form_template = "admin/change_form_with_status.html"

    def status_banners(self, obj) -> list[StatusBanner]:
        return []

    def decisions(self, request: HttpRequest, obj) -> list[Decision]:
        """The decisions ``request.user`` may take on ``obj`` now; each service checks again."""
        return []

    def decision_refusal(self, request: HttpRequest, obj) -> str:
        """Why the service would refuse ``request.user`` every decision on ``obj`` (they made the request,
        or it is their own money), said instead of buttons that could only fail; "" when it would not.
        The services keep the rule: a forged post is refused there."""
        return ""

    def has_panel_decisions(self, request: HttpRequest, obj) -> bool:
        """Whether the page's panels carry decision buttons of their own (a user's page freezing one of
        their wallets' balances): they belong to the decision form, which is then shown even when the
        object itself has no decision to offer."""
        return False

    def decision_context(self, request: HttpRequest, obj) -> object | None:
        """What the approvals desk shows about ``obj`` (amount, client, available balance, history, the
        rule that held it), shown above the decisions; None when there is nothing to decide."""
        return None

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_decide"
        return [
            path("<path:object_id>/decide/", self.admin_site.admin_view(self.decide_view), name=name),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        banners = self.status_banners(obj) if obj is not None else []
        decisions = self.decisions(request, obj) if obj is not None else []
        with_form = bool(decisions) or (obj is not None and self.has_panel_decisions(request, obj))
        extra = {
            "decision_form": with_form,
            "status_banners": banners,
            "decisions": decisions,
            "decision_refusal": self.decision_refusal(request, obj) if decisions else "",
            "decision_context": self.decision_context(request, obj) if obj is not None else None,
            "decide_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_decide", args=[obj.pk])
            if with_form
            else None,
            "decision_next": request.get_full_path(),
        }
        return super().change_view(request, object_id, form_url, extra_context={**(extra_context or {}), **extra})

    def decide_view(self, request: HttpRequest, object_id: str):
        """Run the chosen decision with the typed reason. A refusal (a maker approving their own
        request, a missing reason, a state that changed meanwhile) is shown on the page the operator
        came from (``next``: this object's page, or the page that posted here, such as the wallet's
        page freezing its balance)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        chosen = {decision.name: decision for decision in self.decisions(request, obj) if decision.run is not None}.get(
            request.POST.get("decision")
        )
        if chosen is None:
            raise PermissionDenied
        page = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        came_from = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(came_from, allowed_hosts={request.get_host()}):
            came_from = ""
        reason = request.POST.get("reason", "").strip()
        if chosen.reason_required and not reason:
            self.message_user(
                request, f"{chosen.label}: give the reason first (it goes to the audit trail).", messages.ERROR
            )
            return HttpResponseRedirect(came_from or page)
        inputs = {field.name: request.POST.get(field.name, "").strip() for field in chosen.inputs}
        try:
            result = chosen.run(request.user, obj, reason, **inputs)
        except DomainError as error:
            self.message_user(request, f"{chosen.label} refused: {error.detail} ({error.code})", messages.ERROR)
            return HttpResponseRedirect(came_from or page)
        done = chosen.done(result) if callable(chosen.done) else chosen.done
        # The object's History and the index's "Recent actions" read Django's LogEntry, as for the actions.
        self.log_change(request, obj, f"{done} Reason: {reason or '—'}")
        self.message_user(request, done, messages.SUCCESS)
        if chosen.back_to_desk:
            return HttpResponseRedirect(reverse("operator_desk"))
        return HttpResponseRedirect(came_from or page)


# --- panels --------------------------------------------------------------------------------------


def recent_audit_events_html(targets: Iterable[Model], *, more_url: str) -> str:
    """The last ``PANEL_ROWS`` audit events about any of ``targets``, newest first, each linked."""
    condition = Q()
    for target in targets:
        condition |= Q(target_type=target._meta.label_lower, target_id=str(target.pk))
    if not condition:
        return "—"
    events = list(
        AuditEvent.objects.filter(condition).select_related("actor").order_by("-created_at", "-id")[:PANEL_ROWS]
    )
    if not events:
        return "No audit events yet."
    names = audit_target_names(events)
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                link(
                    reverse("admin:walletmanager_auditevent_change", args=[event.pk]),
                    f"{event.created_at:%Y-%m-%d %H:%M:%S}",
                ),
                event.action,
                audit_target_link(event, names),
                event.actor.email if event.actor else "system",
                event.reason or "—",
            )
            for event in events
        ),
    )
    return format_html(
        '<table class="related-panel"><thead><tr><th>When</th><th>Action</th><th>About</th><th>By</th>'
        "<th>Reason</th></tr></thead><tbody>{}</tbody></table><p>{}</p>",
        rows,
        link(more_url, "All audit events →"),
    )


# What a higher app shows on the pages of users and wallets (the ledger's recent transactions). It
# registers the panel (transactions/admin.py), so neither the kernel nor users and wallets import it.
WalletActivityPanel = Callable[..., str]  # panel(wallet_ids, search=...) -> HTML
_wallet_activity_panel: WalletActivityPanel | None = None


def register_wallet_activity_panel(panel: WalletActivityPanel) -> None:
    global _wallet_activity_panel
    _wallet_activity_panel = panel


def wallet_activity_html(wallet_ids: list[object], *, search: str) -> str:
    """The registered panel of what moved in or out of ``wallet_ids`` (``search`` finds the rest)."""
    if _wallet_activity_panel is None:
        return "—"
    return _wallet_activity_panel(wallet_ids, search=search)


# What the approvals desk shows about an approval request (the amount, the client, the wallet's
# available balance and history), for the request's own page: the ledger registers it
# (transactions/admin.py), as the kernel's approvals never import a domain.
RequestContext = Callable[..., object]  # context(request=ApprovalRequest, user=operator) -> DeskItem
_request_context: RequestContext | None = None


def register_request_context(context: RequestContext) -> None:
    global _request_context
    _request_context = context


def request_context(*, request: Model, user: object) -> object | None:
    """The registered context of an approval request, or None when no domain registered one."""
    return _request_context(request=request, user=user) if _request_context is not None else None


# --- the audit trail -----------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail: searchable and filterable (who, what, about what, when), read as sentences,
    never editable or deletable by anyone."""

    list_display = ("when", "what_happened", "reason", "ip")
    # Choices by loose index scans (audit_action_idx, audit_target_idx): no DISTINCT over the whole trail.
    list_filter = (
        ActorFilter,
        DateRangeFilter,
        indexed_values_filter("action", "what happened", label=action_in_words),
        indexed_values_filter("target_type", "about", label=target_type_in_words),
    )
    search_fields = ("=target_id", "actor__email", "reason", "action")
    search_help_text = (
        "An object's id, or several as type:id (users.user:7 wallets.wallet:…); an operator's email, an action "
        "or words of a reason."
    )
    list_select_related = ("actor",)
    raw_id_fields = ("actor",)
    show_full_result_count = False
    fields = (
        "created_at",
        "what_happened",
        "actor",
        "reason",
        "data_table",
        "ip",
        "action",
        "target_type",
        "target_id",
    )
    readonly_fields = fields
    Media = ListColumnsMedia

    # Every money movement writes an event: the trail grows like the ledger, so never count it row by row.
    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        terms = search_term.split()
        # "type:id" terms (the links of the user and wallet pages) select those objects' events exactly,
        # through the (target_type, target_id) index.
        if terms and all(_TARGET_TERM.match(term) for term in terms):
            condition = Q()
            for term in terms:
                target_type, _, target_id = term.partition(":")
                condition |= Q(target_type=target_type, target_id=target_id)
            return queryset.filter(condition), False
        return super().get_search_results(request, queryset, search_term)

    def get_changelist_instance(self, request):
        # Load the page's targets in a few queries (one per kind), not one per row.
        changelist = super().get_changelist_instance(request)
        targets = load_targets(changelist.result_list)
        for event in changelist.result_list:
            event.target_obj = targets.get((event.target_type, event.target_id))
        return changelist

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The page's title and breadcrumb say what happened to whom, not "wallet.blocked wallets.wallet:<uuid>".
        event = self.get_object(request, unquote(object_id))
        if event is not None:
            event_target = load_targets([event]).get((event.target_type, event.target_id))
            extra_context = {**(extra_context or {}), "subtitle": event_sentence(event, event_target)}
        return super().change_view(request, object_id, form_url, extra_context=extra_context)

    def _target(self, event: AuditEvent):
        if not hasattr(event, "target_obj"):
            event.target_obj = load_targets([event]).get((event.target_type, event.target_id))
        return event.target_obj

    @admin.display(description="When (UTC)", ordering="created_at")
    def when(self, event: AuditEvent) -> str:
        return format_html(
            '<span class="moment" title="{}">{}</span>',
            event.created_at.astimezone(UTC).isoformat(),
            event.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        )

    @admin.display(description="What happened")
    def what_happened(self, event: AuditEvent) -> str:
        """The sentence, its object linked to its page."""
        obj = self._target(event)
        text = event_sentence(event, obj)
        words = target_in_words(event.target_type, event.target_id, obj)
        url = admin_change_url(event.target_type, event.target_id) if obj is not None else None
        before, found, after = text.partition(words) if url else (text, "", "")
        if not found:
            capital = words[:1].upper() + words[1:]
            before, found, after = text.partition(capital) if url else (text, "", "")
        if not found:
            return format_html("{}", text)
        return format_html('{}<a href="{}">{}</a>{}', before, url, found, after)

    @admin.display(description="Data")
    def data_table(self, event: AuditEvent) -> str:
        return data_table(event.data)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Background jobs in operators' words: replaces Procrastinate's own admin, registered before this module.
from walletmanager import jobs_admin  # noqa: E402, F401
