"""Calling the ledger's database functions (SPEC §16): one statement each, typed arguments, and a
refusal mapped once to the domain error it names.

A ``ledger.*`` function refuses with SQLSTATE ``WM409`` (a business rule), ``WM404`` (no such object),
``WM403`` (the caller may not), ``WM400`` (input only the ledger could judge; HINT names the input) or
``WM422``; its message is the detail a person reads and its DETAIL the ``ErrorCode``."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, connection

from walletmanager.error_codes import ErrorCode
from walletmanager.exceptions import DomainError, ValidationFailed

REFUSAL_STATES = {"WM400", "WM403", "WM404", "WM409", "WM422"}


def refusal_of(error: BaseException) -> DomainError | None:
    """The domain error a ledger function raised, or None for any other database error."""
    cause = error.__cause__ if isinstance(error, DatabaseError) else error
    diagnostics = getattr(cause, "diag", None)
    if diagnostics is None or diagnostics.sqlstate not in REFUSAL_STATES:
        return None
    try:
        code = ErrorCode(diagnostics.message_detail or "")
    except ValueError:
        code = {"WM400": ErrorCode.INVALID, "WM404": ErrorCode.NOT_FOUND}.get(diagnostics.sqlstate, ErrorCode.CONFLICT)
    error_class = _error_classes().get(code)
    if error_class is None:
        error_class = ValidationFailed if code.status == 400 else DomainError
    if issubclass(error_class, ValidationFailed):
        return error_class(diagnostics.message_primary, field=diagnostics.message_hint, code=code)
    return error_class(diagnostics.message_primary, code=code)


def _subclasses(base: type) -> Iterator[type]:
    for subclass in base.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


@functools.cache
def _error_classes() -> dict[ErrorCode, type[DomainError]]:
    """The domain error of each code: the class that declares it (``InsufficientFunds`` for
    ``insufficient_funds``), the most general one where several do (``ValidationFailed`` for
    ``invalid``), so a refusal from the database is the exception a Python check raised before. Built
    on first use, when every app has defined its errors."""
    classes: dict[ErrorCode, type[DomainError]] = {}
    for error_class in _subclasses(DomainError):
        if "code" not in vars(error_class):
            continue
        known = classes.get(error_class.code)
        if known is None or len(error_class.__mro__) < len(known.__mro__):
            classes[error_class.code] = error_class
    return classes


@contextmanager
def ledger_errors() -> Iterator[None]:
    """Turn a ledger function's refusal into its domain error; let every other error through."""
    try:
        yield
    except DatabaseError as error:
        refusal = refusal_of(error)
        if refusal is None:
            raise
        raise refusal from None


def ledger_call(sql: str, params: Sequence[Any]) -> list[tuple]:
    """Run one ``SELECT … FROM ledger.<function>(…)`` and return its rows."""
    with ledger_errors(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
