"""Instants from outside (query strings, command options) as aware UTC datetimes PostgreSQL accepts.

ISO 8601 and Python accept UTC offsets up to ±23:59, PostgreSQL only up to ±15:59 ("time zone
displacement out of range"): an instant is converted to UTC in Python before it reaches a query."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone


class InstantOutOfRange(ValueError):
    """The instant, once in UTC, falls before year 1 or after year 9999."""


def to_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive value is read in the project's time zone."""
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value, timezone.get_default_timezone())
        return value.astimezone(UTC)
    except OverflowError:  # year 1 minus an offset, year 9999 plus one
        raise InstantOutOfRange("This instant is out of range.") from None
