"""Django-level error pages: under /api/ they answer JSON in the API's ``{"code", "detail"}`` shape
(a malformed id in a URL never matches a route, so DRF never sees it); elsewhere Django's pages."""

from __future__ import annotations

import sys

from django.http import JsonResponse
from django.views import defaults

from walletmanager.api.exception_handler import DATABASE_RETRY_AFTER, database_unavailable, service_unavailable_body

API_PREFIX = "/api/"


def not_found(request, exception=None):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """Django calls this inside the ``except`` of an error outside DRF's views (a middleware's query):
    a lost database is 503 there too, wherever the request was."""
    error = sys.exc_info()[1]
    if error is not None and database_unavailable(error):
        response = JsonResponse(service_unavailable_body(), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"code": "server_error", "detail": "Internal server error."}, status=500)
    return defaults.server_error(request)
