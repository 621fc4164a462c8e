"""``GET /api/health/``: a liveness probe for load balancers and orchestrators.

It answers ``{"status": "ok"}`` whenever the process serves requests. It deliberately touches
neither the database nor the cache (no authentication, no throttling, no session), so a slow or
unreachable backend never makes a healthy worker look dead, and it costs nothing to poll. It is
also the benchmark's baseline: the cost of the app's request/response cycle alone.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

HEALTH_BODY = {"status": "ok"}


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    uses_database = False  # so its schema promises no 503 (walletmanager.api.schema)

    @extend_schema(
        operation_id="health",
        responses={
            200: inline_serializer(
                name="Health",
                fields={"status": serializers.CharField(help_text="Always `ok` when the process serves requests.")},
            )
        },
        tags=["health"],
        summary="Liveness probe (no database access)",
        auth=[],
    )
    def get(self, request: Request) -> Response:
        return Response(HEALTH_BODY)


# Included from ``walletmanager/urls.py`` at ``api/health/``.
urlpatterns = [path("", HealthView.as_view(), name="health")]
