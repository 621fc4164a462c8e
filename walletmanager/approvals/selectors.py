from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from walletmanager.approvals import registry
from walletmanager.approvals.models import ApprovalRequest


def approval_list_for(*, user: Any) -> QuerySet[ApprovalRequest]:
    """The requests an operator may see: those of the actions they hold the permission for, and their own."""
    actions = [name for name, action in registry.all_actions().items() if user.has_perm(action.permission)]
    return (
        ApprovalRequest.objects.filter(Q(action__in=actions) | Q(requested_by=user))
        .select_related("requested_by", "decided_by")
        .order_by("-created_at", "-id")
    )
