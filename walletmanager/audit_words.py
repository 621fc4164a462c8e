"""The audit trail in operators' words (SPEC §8): each event as a sentence ("finance@… approved the
withdrawal 3f2a1b2c of 10,500.00 USD"), its data as a table, and the filters that question it (who,
what, about what, when).

An action is stored as ``<noun>.<what happened>`` (``user.blocked``, ``withdrawal.approved``,
``balance.frozen``); the sentence is built from it, so a new action reads sensibly without a new entry
here. A domain may name its objects in the trail (``register_target_namer``): the ledger names a
transaction by kind, short id and amount. The kernel imports no domain.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html, format_html_join

# What happened, when the stored word is not the past tense an operator reads ("frozen" → "froze").
PAST_TENSE = {"frozen": "froze", "unfrozen": "unfroze", "pin_locked": "locked the PIN of"}

# Actions that read better as a sentence of their own; {who} is the actor, {target} the object.
SENTENCES = {
    "user.login": "{who} logged in",
    "user.logout": "{who} logged out",
    "user.login_failed": "A login as {target} failed",
    "user.account_locked": "{target} was locked after too many failed logins",
    "user.account_unlocked": "{who} unlocked {target}",
    "user.registered": "{target} signed up",
    "user.totp_enrolled": "{who} enrolled an authenticator app for {target}",
    "user.privileges_changed": "{who} changed the role and permissions of {target}",
    "wallet.pin_locked": "The PIN of {target} locked after too many wrong tries",
    "approval.requested": "{who} asked for {summary}",
    "approval.approved": "{who} approved {summary}",
    "approval.rejected": "{who} rejected {summary}",
    "approval.failed": "{who} approved {summary}, but it was refused",
    "approval.expired": "The request for {summary} expired",
}

# How the action filter and the page name an action: the noun and what happened, in words.
NOUNS = {"fee_rule": "fee rule", "exchange_rate": "exchange rate", "approval": "request for a second operator"}

TargetNamer = Callable[[Model], str]
_namers: dict[str, TargetNamer] = {}


def register_target_namer(target_type: str, namer: TargetNamer) -> None:
    """How the trail names an object of ``target_type`` ("withdrawal 3f2a1b2c of 10,500.00 USD")."""
    _namers[target_type] = namer


def action_in_words(action: str) -> str:
    """``withdrawal.approved`` → "Withdrawal approved"; ``user.login_failed`` → "User login failed"."""
    noun, _, happened = action.partition(".")
    noun = NOUNS.get(noun, noun.replace("_", " "))
    return f"{noun} {happened.replace('_', ' ')}".strip().capitalize()


def target_type_in_words(target_type: str) -> str:
    """``transactions.exchangerate`` → "Exchange rate"; an unknown type stays as it is."""
    try:
        return str(apps.get_model(target_type)._meta.verbose_name).capitalize()
    except (LookupError, ValueError):
        return target_type


def load_targets(events) -> dict[tuple[str, str], Model]:
    """The events' targets, one query per kind of target (related rows a name reads are joined)."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        if event.target_id:
            wanted.setdefault(event.target_type, set()).add(event.target_id)
    found: dict[tuple[str, str], Model] = {}
    for target_type, ids in wanted.items():
        try:
            model = apps.get_model(target_type)
        except (LookupError, ValueError):
            continue
        joined = [field.name for field in model._meta.concrete_fields if field.many_to_one]
        try:
            rows = model._default_manager.select_related(*joined).in_bulk(list(ids))
        except (ValueError, TypeError):  # an id of another shape than the model's key: named by its id
            continue
        for pk, obj in rows.items():
            found[(target_type, str(pk))] = obj
    return found


def target_in_words(target_type: str, target_id: str, obj: Model | None) -> str:
    """ "the user ada@example.com", "the withdrawal 3f2a1b2c of 10,500.00 USD", or the type and id of an
    object that is gone."""
    if obj is None:
        return f"{target_type_in_words(target_type).lower()} {target_id}".strip()
    namer = _namers.get(target_type)
    if namer is not None:
        return f"the {namer(obj)}"
    return f"the {obj._meta.verbose_name} {obj}"


def _who(event) -> str:
    return event.actor.email if event.actor_id else "the system"


def event_sentence(event, obj: Model | None) -> str:
    """What happened, as an operator says it (plain text; the admin links the target)."""
    target = target_in_words(event.target_type, event.target_id, obj)
    summary = (event.data or {}).get("summary") or target
    summary = summary[:1].lower() + summary[1:] if summary[:2].istitle() else summary  # "Adjustment: …" mid-sentence
    template = SENTENCES.get(event.action)
    if template is None:
        _, _, happened = event.action.partition(".")
        verb = PAST_TENSE.get(happened, happened.replace("_", " "))
        template = "{who} " + verb + " {target}" if event.actor_id else "{Target} was " + happened.replace("_", " ")
    text = template.format(who=_who(event), target=target, Target=target[:1].upper() + target[1:], summary=summary)
    # An email opens the sentence as it is written; anything else starts with a capital.
    return text if event.actor_id and text.startswith(event.actor.email) else text[:1].upper() + text[1:]


def data_table(data: object) -> str:
    """An event's data as a table: field, before and after for a change; field and value otherwise
    (a nested value as its own rows, "payload › amount")."""
    if not data:
        return "—"
    if isinstance(data, dict) and isinstance(data.get("before"), dict) and isinstance(data.get("after"), dict):
        before, after = data["before"], data["after"]
        names = list(dict.fromkeys([*before, *after]))
        rows = ((name, _cell(before.get(name)), _cell(after.get(name))) for name in names)
        body = format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td><td>{}</td></tr>", rows)
        rest = {key: value for key, value in data.items() if key not in ("before", "after")}
        return format_html(
            '<table class="audit-data"><thead><tr><th>Field</th><th>Before</th><th>After</th></tr></thead>'
            "<tbody>{}</tbody></table>{}",
            body,
            data_table(rest) if rest else "",
        )
    rows = format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", _flatten(data))
    return format_html('<table class="audit-data"><tbody>{}</tbody></table>', rows)


def _flatten(value: object, prefix: str = ""):
    if isinstance(value, dict):
        for key, inner in value.items():
            name = f"{prefix} › {key}" if prefix else str(key)
            yield from _flatten(inner, name)
    else:
        yield (prefix or "value", _cell(value))


def _cell(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


# --- filters ---------------------------------------------------------------------------------------


def _day(value: str | None) -> date | None:
    """A typed day, or None for anything that is not one (the filter is then not applied)."""
    try:
        return parse_date(value or "")
    except ValueError:
        return None


class ActorFilter(admin.SimpleListFilter):
    """Who did it: each operator by email, clients as one, or the system. The choices are the staff
    accounts (a short list), never a scan of the trail."""

    title = "who"
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        user_model = get_user_model()
        operators = user_model.objects.filter(role="admin", is_system=False).order_by("email")
        return [
            *((str(pk), email) for pk, email in operators.values_list("pk", "email")),
            ("clients", "Clients"),
            ("system", "The system (no one)"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "system":
            return queryset.filter(actor__isnull=True)
        if value == "clients":
            return queryset.filter(actor__role="client")
        if value:
            return queryset.filter(actor_id=value) if value.isdigit() else queryset.none()
        return queryset


class DateRangeFilter(admin.ListFilter):
    """When: today, yesterday, the last 7 or 30 days in one click, or any range typed as two dates
    (``since`` and ``until``, both included). Days are UTC, as the trail shows them."""

    title = "when"
    template = "admin/date_range_filter.html"
    parameters = ("since", "until")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.values = {}
        for name in self.parameters:
            if name in params:
                raw = params.pop(name)
                value = raw[-1] if isinstance(raw, list) else raw
                self.values[name] = value
                self.used_parameters[name] = value
        self.since, self.until = _day(self.values.get("since")), _day(self.values.get("until"))

    def has_output(self) -> bool:
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def queryset(self, request, queryset):
        zone = timezone.get_current_timezone()
        if self.since:
            queryset = queryset.filter(
                created_at__gte=timezone.make_aware(datetime.combine(self.since, datetime.min.time()), zone)
            )
        if self.until:
            end = datetime.combine(self.until + timedelta(days=1), datetime.min.time())
            queryset = queryset.filter(created_at__lt=timezone.make_aware(end, zone))
        return queryset

    def choices(self, changelist):
        today = timezone.localdate()
        ranges = [
            ("Any time", None, None),
            ("Today", today, today),
            ("Yesterday", today - timedelta(days=1), today - timedelta(days=1)),
            ("Last 7 days", today - timedelta(days=6), today),
            ("Last 30 days", today - timedelta(days=29), today),
        ]
        for label, since, until in ranges:
            wanted = {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
            selected = all(self.values.get(name) == (wanted[name] or None) for name in self.parameters) or (
                since is None and not any(self.values.values())
            )
            if since is None:
                url = changelist.get_query_string(remove=list(self.parameters))
            else:
                url = changelist.get_query_string(wanted)
            yield {"selected": selected, "query_string": url, "display": label}
        # The other filters and the search, kept as hidden fields of the typed range's form.
        self.kept = [
            (key, value)
            for key, values in changelist.get_filters_params().items()
            if key not in self.parameters
            for value in (values if isinstance(values, list) else [values])
        ]
        if changelist.query:
            self.kept.append(("q", changelist.query))
