"""Admin actions that ask the operator for a reason on an intermediate page, then call a service
once per selected object. A refused object is reported with ``message_user`` and does not stop the
others (SPEC §8)."""

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

    def call(actor: Any, obj: Model, reason: str) -> Any:
        extra = {"reason": reason} if passes_reason else {}
        return service(actor=actor, **{target: obj}, **extra, **arguments)

    return call


def reason_action(
    service: Callable[..., Any],
    *,
    target: str,
    description: str,
    permission: str,
    done_message: str,
    reason_required: bool = True,
    passes_reason: bool = True,
    state_field: str | None = "status",
    **arguments: Any,
):
    """Build an admin action that calls ``service`` on each selected object (``service_call``); it
    takes its name from the ModelAdmin attribute it is assigned to.

    ``permission`` is the ``has_<permission>_permission`` method the ModelAdmin defines (Django hides
    the action from operators without it; the service checks its own permission again). Each object
    gets its own outcome: changed (counted in ``done_message`` and written to its admin History),
    already in that state (``state_field`` did not move; None: every success is a change, as for a
    request that a second operator decides), or refused.
    """
    call = service_call(service, target=target, passes_reason=passes_reason, **arguments)

    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, *, name: str):
        if request.POST.get("apply"):
            form = ReasonForm(request.POST, reason_required=reason_required)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                done = 0
                for obj in queryset:
                    before = getattr(obj, state_field) if state_field else None
                    try:
                        changed = call(request.user, obj, reason)
                    except DomainError as error:
                        modeladmin.message_user(request, f"{obj}: refused — {error.detail}", messages.ERROR)
                        continue
                    after = getattr(changed if changed is not None else obj, state_field) if state_field else None
                    if state_field and after == before:  # the service's no-op: it already was in that state
                        modeladmin.message_user(request, f"{obj}: already {after}, nothing changed.", messages.WARNING)
                        continue
                    done += 1
                    # The object's History and the index's "Recent actions" read Django's LogEntry.
                    outcome = f": {before} → {after}" if state_field else ""
                    modeladmin.log_change(request, obj, f"{description}{outcome}. Reason: {reason or '—'}")
                if done:
                    modeladmin.message_user(request, done_message.format(count=done), messages.SUCCESS)
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
