"""The approvals queue (SPEC §12): every request waiting for a second operator, with what it would do,
who asked and why; approve or reject with a reason, from the list or on the request's own page, as the
API does (same services)."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from walletmanager.admin import (
    Decision,
    StatusBanner,
    StatusBannerMixin,
    moment_column,
    request_context,
    target_names,
)
from walletmanager.admin import target_link as named_target_link
from walletmanager.admin_actions import reason_action, service_call
from walletmanager.approvals import registry, services
from walletmanager.approvals.models import ApprovalRequest


def _may_decide_any(request) -> bool:
    return any(request.user.has_perm(action.permission) for action in registry.all_actions().values())


def _approve(*, actor, request: ApprovalRequest, reason: str) -> ApprovalRequest:
    """An approved request whose action was refused ends ``failed``: say so, as an error."""
    request = services.approval_approve(actor=actor, request=request, reason=reason)
    if request.status == ApprovalRequest.Status.FAILED:
        from walletmanager.exceptions import Conflict

        raise Conflict(
            f"approved, but the action was refused: {request.result.get('detail', request.failure_code)}",
            code=request.failure_code or "invalid_state",
        )
    return request


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(StatusBannerMixin, admin.ModelAdmin):
    list_display = ("id", "created", "summary", "requested_by", "outcome", "decided_by")
    list_filter = ("status", "action")
    search_fields = ("=id", "summary", "requested_by__email", "=target_id")
    list_select_related = ("requested_by", "decided_by")
    ordering = ("-created_at", "-id")
    actions = ["approve_requests", "reject_requests"]
    fields = (
        "id",
        "action",
        "summary",
        "target_link",
        "payload_readable",
        "status",
        "requested_by",
        "reason",
        "created_at",
        "decided_by",
        "decision_reason",
        "decided_at",
        "failure_code",
        "result_readable",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False  # requests come from the actions that need them (adjust, reverse, credit limits)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_staff and (_may_decide_any(request) or super().has_view_permission(request, obj))

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_decide_permission(self, request) -> bool:
        return _may_decide_any(request)

    def status_banners(self, obj: ApprovalRequest) -> list[StatusBanner]:
        if obj.status == ApprovalRequest.Status.PENDING:
            return [
                StatusBanner(
                    f"Pending: waits for a second operator (not {obj.requested_by.email}, who asked for it).",
                    since=obj.created_at,
                    level="pending",
                )
            ]
        if obj.status == ApprovalRequest.Status.FAILED:
            return [
                StatusBanner(
                    f"Failed: approved, but the action was refused ({obj.failure_code}).", reason=obj.decision_reason
                )
            ]
        return []

    def decision_refusal(self, request, obj: ApprovalRequest) -> str:
        if obj.requested_by_id == request.user.pk:
            return "You requested this; another operator must decide."
        try:
            owners = registry.get(obj.action).owners(obj.payload)
        except KeyError:
            return ""
        return "It moves money of your own wallet; another operator must decide." if request.user.pk in owners else ""

    def decisions(self, request, obj: ApprovalRequest) -> list[Decision]:
        """The approve / reject decisions for an operator holding the action's permission; the maker is
        told instead that another operator decides (``decision_refusal``), as the service would say."""
        try:
            permission = registry.get(obj.action).permission
        except KeyError:
            return []
        if obj.status != ApprovalRequest.Status.PENDING or not request.user.has_perm(permission):
            return []
        return [
            Decision(
                "approve",
                "Approve",
                service_call(_approve, target="request"),
                f"Approved request #{obj.pk}: {obj.summary}.",
                tone="approve",
                note="its action runs now, in your name, with your reason.",
                back_to_desk=True,
            ),
            Decision(
                "reject",
                "Reject",
                service_call(services.approval_reject, target="request"),
                f"Rejected request #{obj.pk}: {obj.summary}.",
                reason_required=True,
                tone="reject",
                note="nothing runs; the maker sees your reason.",
                back_to_desk=True,
            ),
        ]

    def decision_context(self, request, obj: ApprovalRequest):
        if obj.status != ApprovalRequest.Status.PENDING:
            return None
        return request_context(request=obj, user=request.user)

    created = moment_column("created_at", description="Asked (UTC)")

    @admin.display(description="Status", ordering="status")
    def outcome(self, obj: ApprovalRequest) -> str:
        """The status, and why it failed when the approved action was refused."""
        status = obj.get_status_display()
        return f"{status} ({obj.failure_code})" if obj.failure_code else status

    @admin.display(description="Acts on")
    def target_link(self, obj: ApprovalRequest) -> str:
        return named_target_link(obj.target_type, obj.target_id, target_names([(obj.target_type, obj.target_id)]))

    @admin.display(description="Payload")
    def payload_readable(self, obj: ApprovalRequest) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))

    @admin.display(description="Result")
    def result_readable(self, obj: ApprovalRequest) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.result, indent=2, sort_keys=True)) if obj.result else "—"

    approve_requests = reason_action(
        _approve,
        target="request",
        description="Approve selected requests (their actions run now)",
        permission="decide",
        done_message="Approved {objects}.",
        label=lambda obj: f"request #{obj.pk} ({obj.summary})",
        reason_required=False,
    )
    reject_requests = reason_action(
        services.approval_reject,
        target="request",
        description="Reject selected requests",
        permission="decide",
        done_message="Rejected {objects}.",
        label=lambda obj: f"request #{obj.pk} ({obj.summary})",
    )
