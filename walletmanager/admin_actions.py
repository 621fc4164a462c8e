"""Admin actions that ask the operator for a reason on an intermediate page, then call a service
once per selected object. Each object's outcome is reported by name with ``message_user`` (done,
already in that state, refused), and a refused object does not stop the others (SPEC §8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from walletmanager.exceptions import DomainError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=1000,
        help_text="Recorded in the audit trail and, where it applies, shown to the customer's support agents.",
    )

    def __init__(self, *args, reason_required: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required
        self.fields["reason"].strip = True


def service_call(
    service: Callable[..., Any], *, target: str, passes_reason: bool = True, **arguments: Any
) -> Callable[[Any, Model, str], Any]:
    """How an admin action or a decision button calls its service: ``(actor, obj, reason)`` becomes
    ``service(actor=actor, <target>=obj, reason=reason, **arguments)`` (no ``reason`` when
    ``passes_reason`` is False)."""

    def call(actor: Any, obj: Model, reason: str, **inputs: Any) -> Any:
        extra = {"reason": reason} if passes_reason else {}
        return service(actor=actor, **{target: obj}, **extra, **arguments, **inputs)

    return call


# A message names at most this many objects; the rest are counted ("… and 12 more").
NAMED_IN_A_MESSAGE = 10


def listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``; past ``NAMED_IN_A_MESSAGE`` names, ``a, b, … and 12 more``."""
    if len(names) > NAMED_IN_A_MESSAGE:
        return f"{', '.join(names[:NAMED_IN_A_MESSAGE])} and {len(names) - NAMED_IN_A_MESSAGE} more"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def sentence(text: str) -> str:
    """``text`` starting with a capital when it starts with a word ("wallet Main …" → "Wallet Main …"),
    as it is when it starts with a name (an email, an address)."""
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() else text


def state_in_words(obj: Model, field: str) -> str:
    display = getattr(obj, f"get_{field}_display", None)
    return str(display() if display else getattr(obj, field)).lower()


def reason_action(
    service: Callable[..., Any],
    *,
    target: str,
    description: str,
    permission: str,
    done_message: str,
    already_message: str = "{objects} {was} already {state}.",
    label: Callable[[Model], str] = str,
    reason_required: bool = True,
    passes_reason: bool = True,
    state_field: str | None = "status",
    **arguments: Any,
):
    """Build an admin action that calls ``service`` on each selected object (``service_call``); it
    takes its name from the ModelAdmin attribute it is assigned to.

    ``permission`` is the ``has_<permission>_permission`` method the ModelAdmin defines (Django hides
    the action from operators without it; the service checks its own permission again). The
    operator is told what happened to each object, by its ``label``: changed (``done_message``,
    "Blocked {objects}."; also written to its admin History), already in that state
    (``state_field`` did not move: ``already_message``, "{objects} {was} already {state}."; None:
    every success is a change, as for a request that a second operator decides), or refused
    ("<label>: refused — <the service's detail>").
    """
    call = service_call(service, target=target, passes_reason=passes_reason, **arguments)

    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, *, name: str):
        if request.POST.get("apply"):
            form = ReasonForm(request.POST, reason_required=reason_required)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                done: list[str] = []
                already: dict[str, list[str]] = {}
                refused: list[str] = []
                for obj in queryset:
                    named = label(obj)
                    before = getattr(obj, state_field) if state_field else None
                    try:
                        changed = call(request.user, obj, reason)
                    except DomainError as error:
                        refused.append(f"{named}: refused — {error.detail}")
                        continue
                    result = changed if changed is not None else obj
                    after = getattr(result, state_field) if state_field else None
                    if state_field and after == before:  # the service's no-op: it already was in that state
                        already.setdefault(state_in_words(result, state_field), []).append(named)
                        continue
                    done.append(named)
                    # The object's History and the index's "Recent actions" read Django's LogEntry.
                    outcome = f": {before} → {after}" if state_field else ""
                    modeladmin.log_change(request, obj, f"{description}{outcome}. Reason: {reason or '—'}")
                if done:
                    message = done_message.format(objects=listed(done))
                    modeladmin.message_user(request, sentence(message), messages.SUCCESS)
                for state, names in already.items():
                    was = "was" if len(names) == 1 else "were"
                    message = already_message.format(objects=listed(names), was=was, state=state)
                    modeladmin.message_user(request, sentence(message), messages.WARNING)
                for message in refused:
                    modeladmin.message_user(request, sentence(message), messages.ERROR)
                return None  # back to the changelist, where the messages show
        else:
            form = ReasonForm(reason_required=reason_required)

        context = {
            **modeladmin.admin_site.each_context(request),
            "title": description,
            "objects": list(queryset),
            "form": form,
            "action_name": name,
            "action_description": description,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": modeladmin.model._meta,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/reason_action.html", context)

    return NamedAction(action, description=description, permission=permission)


class NamedAction:
    """An admin action that learns its name (``__set_name__``) from the ModelAdmin attribute it is
    assigned to, so a declaration names it once; Django reads ``allowed_permissions`` and
    ``short_description`` as it does on a decorated function."""

    def __init__(self, function: Callable[..., Any], *, description: str, permission: str) -> None:
        self.function = function
        self.short_description = description
        self.allowed_permissions = (permission,)
        self.__name__ = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.__name__ = name

    def __call__(self, modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet):
        return self.function(modeladmin, request, queryset, name=self.__name__)
