"""Turn every error into one JSON shape, ``{"code", "detail"}``, plus ``fields`` on input errors (docs/api.md).

``code`` is an ``ErrorCode`` member and always has the same HTTP status. An input error (400) is
``{"code": "invalid", "detail": "...", "fields": {name: [{"code", "detail"}]}}``: every field error
carries its own code (DRF's validator codes, or a domain one such as ``amount_too_small``). A lost or
unreachable database is 503 ``service_unavailable`` with ``Retry-After``: the client retries later,
which is not what a 500 (a bug) tells it.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from walletmanager.error_codes import ErrorCode
from walletmanager.exceptions import DomainError, ValidationFailed

NON_FIELD = "non_field_errors"
# Seconds a client waits before retrying after a 503: a restart or a failover takes a few.
DATABASE_RETRY_AFTER = 5


def database_unavailable(error: BaseException) -> bool:
    """The database could not be reached or the connection died (not a constraint or a bad query):
    psycopg's OperationalError (connection refused, server closed the connection, admin shutdown …,
    and psycopg_pool's PoolTimeout when every pooled connection stayed busy for the pool's timeout)
    and Django's InterfaceError for a connection already closed."""
    return isinstance(error, (OperationalError, InterfaceError))


def service_unavailable_body() -> dict:
    return {"code": ErrorCode.SERVICE_UNAVAILABLE, "detail": "The service is unavailable. Retry later."}


def field_errors(detail, prefix: str = "") -> dict[str, list[dict[str, str]]]:
    """DRF's nested error detail flattened to ``{"a.b.0.c": [{"code", "detail"}]}``."""
    if isinstance(detail, dict):
        fields: dict[str, list[dict[str, str]]] = {}
        for name, value in detail.items():
            fields.update(field_errors(value, f"{prefix}.{name}" if prefix else str(name)))
        return fields
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        fields = {}
        for index, value in enumerate(detail):
            fields.update(field_errors(value, f"{prefix}.{index}" if prefix else str(index)))
        return fields
    items = detail if isinstance(detail, list) else [detail]
    return {
        prefix or NON_FIELD: [{"code": getattr(item, "code", None) or "invalid", "detail": str(item)} for item in items]
    }


def input_error_body(fields: dict[str, list[dict[str, str]]]) -> dict:
    first_name, first = next(iter(fields.items()))
    summary = first[0]["detail"] if first_name == NON_FIELD else f"{first_name}: {first[0]['detail']}"
    return {"code": ErrorCode.INVALID, "detail": summary, "fields": fields}


def exception_handler(exc, context):
    if isinstance(exc, ValidationFailed) and exc.field:
        body = input_error_body({exc.field: [{"code": exc.code, "detail": exc.detail}]})
        return Response(body, status=ErrorCode.INVALID.status)
    if isinstance(exc, DomainError):
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return Response({"code": exc.code, "detail": exc.detail}, status=exc.status_code, headers=headers)
    if isinstance(exc, DatabaseError) and database_unavailable(exc):
        return Response(
            service_unavailable_body(),
            status=ErrorCode.SERVICE_UNAVAILABLE.status,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
        )

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = input_error_body(
            field_errors(exc.detail) or {NON_FIELD: [{"code": "invalid", "detail": "Invalid input."}]}
        )
        return response
    detail, code = exc.detail, exc.get_codes()
    if isinstance(detail, dict) and "detail" in detail:
        # Raised with a ready {"code", "detail"} body (e.g. PermissionDenied(detail={...})).
        code, detail = detail.get("code", code), detail["detail"]
    response.data = {"code": known_code(code, response.status_code), "detail": str(detail)}
    return response


def known_code(code, status: int) -> ErrorCode:
    """``code`` when the enum has it with this status; else the status's general code."""
    if isinstance(code, str) and code in ErrorCode._value2member_map_ and ErrorCode(code).status == status:
        return ErrorCode(code)
    return next((member for member in ErrorCode if member.status == status), ErrorCode.SERVER_ERROR)
