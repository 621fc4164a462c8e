"""An ORM query compiled once per process and run with each call's values (STYLE.md, "Speed without
fighting the ORM"): for a hot read whose SQL is tiny but whose building and compiling in Django is
most of its cost. The query stays the ORM's own — written with filters and expressions, compiled by
Django — only the compiling is not repeated.

The query is built once with a stand-in for each value that varies (``stand_ins``: a value the query
could not otherwise contain, such as the nil UUID or the epoch); the compiled parameters equal to a
stand-in are the slots that each call fills."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.db import connection
from django.db.models import QuerySet


class CompiledQuery:
    def __init__(self, build: Callable[..., QuerySet], **stand_ins: Any) -> None:
        self._build = build
        self._stand_ins = stand_ins

    @cached_property
    def _compiled(self) -> tuple[str, list[tuple[bool, Any]]]:
        sql, params = self._build(**self._stand_ins).query.sql_with_params()
        slots = []
        for value in params:
            names = [
                name
                for name, stand_in in self._stand_ins.items()
                if type(value) is type(stand_in) and value == stand_in
            ]
            slots.append((True, names[0]) if names else (False, value))
        missing = set(self._stand_ins) - {value for is_slot, value in slots if is_slot}
        if missing:
            raise ValueError(f"The query does not use the stand-in for {', '.join(sorted(missing))}.")
        return sql, slots

    def rows(self, **values: Any) -> list[tuple]:
        """The query's rows with ``values`` (one per stand-in) in the stand-ins' places."""
        if set(values) != set(self._stand_ins):
            raise TypeError(f"Give exactly: {', '.join(sorted(self._stand_ins))}.")
        sql, slots = self._compiled
        with connection.cursor() as cursor:
            cursor.execute(sql, [values[value] if is_slot else value for is_slot, value in slots])
            return cursor.fetchall()


def _same(value: Any, stand_in: Any) -> bool:
    return type(value) is type(stand_in) and value == stand_in
