from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from walletmanager.webhooks.models import MANAGE_WEBHOOKS, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list_for(*, user: Any) -> QuerySet[WebhookEndpoint]:
    """A client's own live endpoints; staff with ``manage_webhooks`` see everyone's."""
    endpoints = (
        WebhookEndpoint.objects.filter(deleted_at__isnull=True).select_related("owner").order_by("-created_at", "-id")
    )
    if getattr(user, "is_staff", False) and user.has_perm(MANAGE_WEBHOOKS):
        return endpoints
    return endpoints.filter(owner=user)


def webhook_delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """An endpoint's deliveries, newest first, each with its attempts."""
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number")))
        .order_by("-created_at", "-id")
    )
