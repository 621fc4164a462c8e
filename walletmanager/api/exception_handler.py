"""Turn every error into one JSON shape: domain errors as ``{"code", "detail"}``, input errors as DRF's field map."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from walletmanager.exceptions import DomainError, ValidationFailed


def exception_handler(exc, context):
    if isinstance(exc, ValidationFailed):
        if exc.field:
            return Response({exc.field: [exc.detail]}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"code": exc.code, "detail": exc.detail}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DomainError):
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return Response({"code": exc.code, "detail": exc.detail}, status=exc.status_code, headers=headers)

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return response  # DRF's field map, as SPEC §7 asks
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    if isinstance(detail, dict) and "detail" in detail:
        # Raised with a ready {"code", "detail"} body (e.g. PermissionDenied(detail={...})).
        response.data = {"code": str(detail.get("code", code)), "detail": str(detail["detail"])}
    else:
        response.data = {"code": code if isinstance(code, str) else "error", "detail": str(detail)}
    return response
