"""Hot read queries compiled once (STYLE.md, "Speed without fighting the ORM").

A ``CompiledQuery`` is an ORM queryset, built and compiled once per database connection with
stand-in values, then run with each call's values in their place. Only the building and compiling
of the SQL is skipped: Django's own iterable still turns the rows into model instances (the
``select_related`` ones included) and runs the queryset's ``prefetch_related``, so the objects are
exactly those the queryset would give.

It is for the few reads every API request makes (the token and its user, the wallet a request
names, a currency by its code), where building and compiling the query cost as much as running it
or more. What it bought, with ``python -m bench --suite http --http-profile`` (CPU ms a request
in-process, median of 5 rounds), five runs before and after back to back on a shared 2-core machine
(load average 1.5-2.3), the middle run of each side: ``GET /api/wallets/{id}/`` 3.06 -> 1.79 ms
(with its assets' currencies joined, 4 -> 3 queries), ``POST /api/transactions/`` transfer
6.11 -> 4.91 ms; ``GET /api/transactions/?wallet=`` was 0.9 to 3.1 ms faster in four runs of five
(its filter form made once too) and 0.7 ms slower in one.
Use it only for a queryset whose SQL does not depend on the values (no ``__in`` of a list whose
length varies, no branch on a value: build one ``CompiledQuery`` per shape instead).
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import FlatValuesListIterable, ModelIterable

from walletmanager.database.base import prepared

# The iterables that ask their queryset's query for nothing but its compiler.
_ITERABLES = (ModelIterable, FlatValuesListIterable)


class _CompiledSql:
    """What a model iterable asks of its queryset's query: a compiler (here, one already compiled)."""

    def __init__(self, compiler) -> None:
        self.compiler = compiler

    def get_compiler(self, using=None, connection=None, elide_empty=True):
        return self.compiler


class CompiledQuery:
    """``build(**stand_ins)`` compiled once per connection; ``run(**values)`` returns its rows
    (model instances, or the values of a ``values_list(..., flat=True)``) for these values, and
    ``rows(**values)`` the database's rows as tuples (an aggregate, several columns).

    Each stand-in must be a value of the parameter's own type that equals no other parameter of the
    query (e.g. the nil UUID, a negative id), and must reach the SQL as a parameter, or compiling
    raises ``ImproperlyConfigured``. A call's values go in by position, whatever they are (a None
    stays ``= NULL``, which matches nothing, where the ORM would have written ``IS NULL``)."""

    def __init__(self, build: Callable[..., QuerySet], *, prepare: bool = False, **stand_ins: Any) -> None:
        self._build = build
        self._prepare = prepare  # prepare the SQL on each connection (walletmanager.database.base.prepared)
        self._stand_ins = stand_ins
        # Per connection: a compiler belongs to its connection, and each thread has its own.
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _compile(self, connection) -> tuple:
        queryset = self._build(**self._stand_ins)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        slots = tuple(
            next(
                (
                    name
                    for name, stand_in in self._stand_ins.items()
                    if type(value) is type(stand_in) and value == stand_in
                ),
                None,
            )
            for value in params
        )
        missing = set(self._stand_ins) - set(slots)
        if missing:
            raise ImproperlyConfigured(f"{', '.join(sorted(missing))}: not a parameter of the compiled query.")
        if self._prepare:
            prepared(sql)
        compiled = (queryset, compiler, sql, tuple(params), slots)
        self._compiled[connection] = compiled
        return compiled

    def _sql(self, values: dict[str, Any]) -> tuple:
        connection = connections[DEFAULT_DB_ALIAS]
        compiled = self._compiled.get(connection) or self._compile(connection)
        queryset, compiler, sql, stand_in_params, slots = compiled
        if set(values) != set(self._stand_ins):
            raise TypeError(f"Give exactly: {', '.join(sorted(self._stand_ins))}.")
        params = tuple(
            value if slot is None else values[slot] for slot, value in zip(slots, stand_in_params, strict=True)
        )
        return connection, queryset, compiler, sql, params

    def rows(self, **values: Any) -> list[tuple]:
        """The compiled SQL's rows as the database gives them (tuples, no model instances), for an
        aggregate or a ``values_list`` of several columns."""
        connection, _, _, sql, params = self._sql(values)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def run(self, **values: Any) -> list:
        connection, queryset, compiler, sql, params = self._sql(values)
        if queryset._iterable_class not in _ITERABLES:
            raise ImproperlyConfigured("run() gives model instances or flat values only; rows() gives tuples.")
        compiler = copy.copy(compiler)
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        rows = QuerySet(model=queryset.model, query=_CompiledSql(compiler), using=connection.alias)
        rows._iterable_class = queryset._iterable_class
        rows._prefetch_related_lookups = queryset._prefetch_related_lookups
        return list(rows)
