"""The webhook jobs (SPEC §15), thin calls of ``walletmanager.webhooks.services``."""

from __future__ import annotations

from procrastinate import Blueprint

blueprint = Blueprint()

WEBHOOK_QUEUE = "webhooks"
# A job that raised (the database went away mid-way) runs again; a receiver's refusal is not an
# exception but a scheduled retry of its own (services.webhook_delivery_attempt).
CRASH_RETRIES = 5


@blueprint.task(name="webhook_dispatch", queue=WEBHOOK_QUEUE, retry=CRASH_RETRIES)
def webhook_dispatch(event_id: str) -> None:
    """Fan an event out: one delivery per endpoint that wants it."""
    from walletmanager.webhooks.services import webhook_event_dispatch

    webhook_event_dispatch(event_id=event_id)


@blueprint.task(name="webhook_deliver", queue=WEBHOOK_QUEUE, retry=CRASH_RETRIES)
def webhook_deliver(delivery_id: int) -> None:
    """One attempt to deliver; a failure defers the next attempt itself (exponential backoff)."""
    from walletmanager.webhooks.services import webhook_delivery_attempt

    webhook_delivery_attempt(delivery_id=delivery_id)
