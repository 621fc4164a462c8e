"""Webhooks in the admin (SPEC §15): endpoints with their state, every delivery with its attempts,
resend and re-enable. Everything is read-only but for those two actions; the secret is never shown."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from walletmanager.admin_actions import reason_action
from walletmanager.admin_mixins import ReadOnlyAdminMixin
from walletmanager.webhooks import services
from walletmanager.webhooks.models import MANAGE_WEBHOOKS, WebhookDelivery, WebhookEndpoint, WebhookEvent


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    def has_manage_webhooks_permission(self, request) -> bool:
        return request.user.has_perm(MANAGE_WEBHOOKS)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["url", "owner", "scope", "event_list", "is_active", "disabled_reason", "created_at"]
    list_filter = ["is_active", "scope"]
    search_fields = ["url", "owner__email"]
    list_select_related = ["owner"]
    fields = [
        "url",
        "description",
        "owner",
        "scope",
        "events",
        "is_active",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "deleted_at",
        "recent_deliveries",
    ]
    readonly_fields = fields
    actions = ["enable_endpoints"]

    @admin.display(description="events")
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events)

    @admin.display(description="recent deliveries")
    def recent_deliveries(self, endpoint: WebhookEndpoint) -> str:
        deliveries = endpoint.deliveries.select_related("event").order_by("-created_at")[:20]
        link = reverse("admin:webhooks_webhookdelivery_changelist")
        rows = format_html_join(
            "",
            "<li><a href='{}'>{} — {}</a> ({} attempts, last {})</li>",
            (
                (
                    reverse("admin:webhooks_webhookdelivery_change", args=[d.pk]),
                    d.event.type,
                    d.get_status_display(),
                    d.attempt_count,
                    d.last_status_code or "—",
                )
                for d in deliveries
            ),
        )
        return format_html("<ul>{}</ul><a href='{}?endpoint__id__exact={}'>All deliveries</a>", rows, link, endpoint.pk)

    enable_endpoints = reason_action(
        name="enable_endpoints",
        description="Enable selected endpoints again",
        permission="manage_webhooks",
        call=lambda actor, endpoint, reason: services.webhook_endpoint_enable(
            actor=actor, endpoint=endpoint, reason=reason
        ),
        done_message="Enabled {objects}.",
        already_message="{objects} {was} already enabled.",
        label=lambda endpoint: endpoint.url,
        state_field="is_active",
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "event_type",
        "endpoint",
        "status",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event__type"]
    search_fields = ["endpoint__url", "endpoint__owner__email"]
    list_select_related = ["event", "endpoint"]
    fields = [
        "event_link",
        "endpoint",
        "status",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "retry_window_started_at",
        "created_at",
        "attempt_log",
        "payload",
    ]
    readonly_fields = fields
    actions = ["resend_deliveries"]

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.display(description="event")
    def event_link(self, delivery: WebhookDelivery) -> str:
        return format_html("{} <code>{}</code>", delivery.event.type, delivery.event.public_id)

    @admin.display(description="attempts")
    def attempt_log(self, delivery: WebhookDelivery) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (
                    a.number,
                    a.attempted_at.strftime("%Y-%m-%d %H:%M:%S"),
                    a.status_code or "—",
                    a.duration_ms,
                    a.error or "",
                    a.response_excerpt[:300],
                )
                for a in delivery.attempts.order_by("number")
            ),
        )
        return format_html(
            "<table><tr><th>#</th><th>at (UTC)</th><th>status</th><th>took</th><th>error</th>"
            "<th>response</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="payload")
    def payload(self, delivery: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", services.delivery_body(delivery.event).decode())

    resend_deliveries = reason_action(
        name="resend_deliveries",
        description="Resend selected deliveries now",
        permission="manage_webhooks",
        call=lambda actor, delivery, reason: services.webhook_delivery_resend(actor=actor, delivery=delivery),
        done_message="Queued {objects} again.",
        label=lambda delivery: f"the delivery of {delivery.event.type} to {delivery.endpoint.url}",
        reason_required=False,
        state_field=None,  # a resend is an attempt more, whatever the status was
    )


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["type", "public_id", "created_at"]
    list_filter = ["type"]
    fields = ["type", "public_id", "owner_ids", "created_at", "data"]
    readonly_fields = fields
    show_full_result_count = False
