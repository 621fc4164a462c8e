from django import template

from transactions import dashboard
from walletmanager.admin import admin_change_url
from walletmanager.audit_seal import audit_seal_status
from walletmanager.audit_words import event_sentence, load_targets
from walletmanager.jobs import job_queue_status
from walletmanager.models import AuditEvent

register = template.Library()


@register.inclusion_tag("admin/transactions/dashboard.html", takes_context=True)
def operations_dashboard(context):
    """The operators' dashboard on the admin index."""
    request = context["request"]
    if not request.user.has_perm("transactions.view_transaction"):
        return {"visible": False}
    return {
        "visible": True,
        "liabilities": dashboard.client_liabilities(),
        "pending": dashboard.pending_withdrawals(),
        "pending_deposits": dashboard.pending_transactions("deposit"),
        "approval_requests": dashboard.pending_approval_requests(),
        "volume": dashboard.volume_in_words(dashboard.volume_today(), dashboard.posted_today()),
        "chart": dashboard.daily_activity(),
        "attention": dashboard.needs_attention(),
        "reconciliation": dashboard.last_reconciliation(),
        "jobs": job_queue_status(),
        "audit_seal": audit_seal_status(),
        "can_reconcile": request.user.has_perm(dashboard.RECONCILE_PERMISSION),
        "can_see_runs": request.user.has_perm("transactions.view_reconciliationrun"),
        "reconciliation_waiting": dashboard.reconciliation_waiting(),
        "csrf_token": context.get("csrf_token"),
    }


RECENT_ACTIONS = 10


@register.inclusion_tag("admin/recent_actions.html", takes_context=True)
def recent_actions(context):
    """The operator's own last actions from the audit trail, as sentences about the objects as they are
    now (Django's "Recent actions" keeps each object's name from the moment it was logged)."""
    user = context["request"].user
    events = list(AuditEvent.objects.filter(actor=user).select_related("actor").order_by("-id")[:RECENT_ACTIONS])
    targets = load_targets(events)
    return {
        "actions": [
            {
                "when": event.created_at,
                "text": event_sentence(event, targets.get((event.target_type, event.target_id))),
                "url": admin_change_url(event.target_type, event.target_id)
                if (event.target_type, event.target_id) in targets
                else None,
            }
            for event in events
        ]
    }
