"""Admin pages that span the domains: the approvals desk and the header's search (SPEC §8). Thin:
each asks one selector and renders it; the decisions themselves are taken on each object's page."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from transactions.dashboard import RECONCILE_PERMISSION, reconciliation_waiting
from transactions.desk import desk_for
from transactions.operator_search import operator_search
from walletmanager.approvals import registry


def _may_use_desk(user) -> bool:
    return user.has_perm("transactions.view_transaction") or any(
        user.has_perm(action.permission) for action in registry.all_actions().values()
    )


def desk_view(request: HttpRequest):
    """Everything that waits for a decision, with the context to take it."""
    if not _may_use_desk(request.user):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": "Approvals desk",
        "desk": desk_for(user=request.user),
    }
    return TemplateResponse(request, "admin/desk.html", context)


def search_view(request: HttpRequest):
    """One exact match jumps to its page; otherwise the list of what starts with the term."""
    term = request.GET.get("q", "").strip()
    hits = operator_search(term=term, user=request.user)
    exact = [hit for hit in hits if hit.exact]
    if len(exact) == 1:
        return HttpResponseRedirect(exact[0].url)
    context = {
        **admin.site.each_context(request),
        "title": f"Search: {term}" if term else "Search",
        "term": term,
        "global_search_term": term,
        "hits": hits,
    }
    return TemplateResponse(request, "admin/search_results.html", context)


def reconcile_view(request: HttpRequest):
    """Finance asks for a reconciliation from the dashboard: the background worker runs the same check as
    ``manage.py reconcile`` (minutes on a large ledger: never inside a web request) and stores its
    result, which the dashboard shows."""
    from walletmanager.jobs import defer_in_transaction, reconcile_nightly

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm(RECONCILE_PERMISSION):
        raise PermissionDenied
    if reconciliation_waiting():
        messages.info(request, "A reconciliation is already waiting for the background worker.")
    else:
        defer_in_transaction(reconcile_nightly, timestamp=int(timezone.now().timestamp()))
        messages.success(
            request, "Reconciliation started: its result shows here when the background worker has run it."
        )
    return HttpResponseRedirect(reverse("admin:index"))
