from django import template

from transactions import dashboard
from walletmanager.audit_seal import audit_seal_status
from walletmanager.jobs import job_queue_status

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
        "volume": dashboard.volume_today(),
        "chart": dashboard.daily_activity(),
        "attention": dashboard.needs_attention(),
        "reconciliation": dashboard.last_reconciliation(),
        "jobs": job_queue_status(),
        "audit_seal": audit_seal_status(),
    }
