"""How domains publish their events (SPEC §15): a receiver per domain signal, connected in the
domain's ``AppConfig.ready()``, that turns the changed object into an event inside the change's
own database transaction (signals are sent there, like the audit trail's)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

from walletmanager.webhooks.registry import register_event_types


def connect_publishers(
    published: dict[Signal, str], *, publish: Callable[[Any, str], None], app_label: str, event_types: dict[str, str]
) -> None:
    """For each ``signal: name`` call ``publish(instance, name)`` when the signal is sent, and make
    ``event_types`` subscribable."""
    register_event_types(event_types)
    for signal, name in published.items():

        def receiver(sender, *, instance, _name=name, **kwargs):
            publish(instance, _name)

        signal.connect(receiver, weak=False, dispatch_uid=f"webhooks:{app_label}:{name}")
