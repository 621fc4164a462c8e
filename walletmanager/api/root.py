"""``GET /api/``: where the API starts. ``make run`` advertises this address, so it answers with the
resources and their links (the browsable API renders them for a session) instead of a 404."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# (key, URL name) in the order a newcomer meets them: sign in, then their own things, then reference data.
RESOURCES = (
    ("register", "auth-register"),
    ("login", "auth-login"),
    ("logout", "auth-logout"),
    ("me", "me"),
    ("wallets", "wallet-list"),
    ("transactions", "transaction-list"),
    ("currencies", "currency-list"),
    ("rates", "rate-list"),
    ("webhooks", "webhook-list"),
    ("approvals", "approval-list"),
    ("schema", "schema"),
    ("docs", "swagger-ui"),
    ("health", "health"),
)


class ApiRootView(APIView):
    """The API's resources by name, each an absolute link. Anyone may read it: it names no data."""

    permission_classes = [AllowAny]
    name = "API root"  # the browsable API's heading; DRF would derive "Api Root" from the class name

    @extend_schema(exclude=True)  # a map of the other operations, not one of them
    def get(self, request):
        return Response({key: reverse(name, request=request) for key, name in RESOURCES})
