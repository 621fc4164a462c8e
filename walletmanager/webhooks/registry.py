"""The event types the outside world may subscribe to (SPEC §15), registered by the domains that
publish them (in their ``AppConfig.ready()``): the kernel knows event names, never models."""

from __future__ import annotations

_event_types: dict[str, str] = {}


def register_event_types(types: dict[str, str]) -> None:
    """``{"transaction.posted": "what it means", ...}``"""
    _event_types.update(types)


def event_types() -> dict[str, str]:
    return dict(sorted(_event_types.items()))


def is_event_type(name: str) -> bool:
    return name in _event_types
