"""Admin pages that span the domains: the approvals desk and the header's search (SPEC §8). Thin:
each asks one selector and renders it; the decisions themselves are taken on each object's page."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse

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
