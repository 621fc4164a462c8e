"""``/api/webhooks/`` (SPEC §15): register where events go, see what was delivered."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from walletmanager.exceptions import NotFoundError
from walletmanager.webhooks import registry, selectors, services
from walletmanager.webhooks.models import WebhookEndpoint
from walletmanager.webhooks.serializers import (
    WebhookDeliveryPageSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointSerializer,
    WebhookEventTypeSerializer,
)

ERROR = OpenApiResponse(description='`{"code": "...", "detail": "..."}`')


@extend_schema_view(
    list=extend_schema(summary="Your webhook endpoints (staff with manage_webhooks: everyone's)", tags=["webhooks"]),
    retrieve=extend_schema(
        summary="One endpoint", tags=["webhooks"], responses={200: WebhookEndpointSerializer, 404: ERROR}
    ),
)
class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = WebhookEndpointSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        return selectors.webhook_endpoint_list_for(user=self.request.user)

    def get_object(self) -> WebhookEndpoint:
        pk = self.kwargs.get("pk", "")
        endpoint = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() and len(str(pk)) < 19 else None
        if endpoint is None:
            raise NotFoundError("No such webhook endpoint.")
        return endpoint

    @extend_schema(
        summary="Register an endpoint: the answer carries its signing secret, shown this once",
        tags=["webhooks"],
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointCreatedSerializer, 400: ERROR, 403: ERROR},
    )
    def create(self, request):
        body = WebhookEndpointInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(actor=request.user, **body.validated_data)
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Delete: nothing more is delivered there", tags=["webhooks"], responses={204: None, 404: ERROR}
    )
    def destroy(self, request, pk=None):
        services.webhook_endpoint_delete(actor=request.user, endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Enable again after it was disabled for failing deliveries",
        tags=["webhooks"],
        request=None,
        responses={200: WebhookEndpointSerializer, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        endpoint = services.webhook_endpoint_enable(actor=request.user, endpoint=self.get_object())
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        summary="What was sent there: deliveries, newest first, with every attempt",
        tags=["webhooks"],
        responses={200: WebhookDeliveryPageSerializer, 404: ERROR},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        page = self.paginate_queryset(selectors.webhook_delivery_list(endpoint=self.get_object()))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="The event types you may subscribe to",
        tags=["webhooks"],
        responses={200: WebhookEventTypeSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], url_path="event-types", pagination_class=None)
    def event_types(self, request):
        types = [{"type": name, "description": text} for name, text in registry.event_types().items()]
        return Response(WebhookEventTypeSerializer(types, many=True).data)
