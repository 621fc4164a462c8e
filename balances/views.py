"""Currencies, and the freeze/unfreeze commands on a wallet (they live here because the balance
belongs to this app; the routes sit next to the wallet's other commands)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from balances import selectors, services
from balances.models import Currency
from balances.serializers import CurrencySerializer
from walletmanager.api.permissions import staff_with_permission
from wallets import selectors as wallet_selectors
from wallets.serializers import WalletReasonInputSerializer, WalletRequiredReasonInputSerializer, WalletSerializer
from wallets.views import ERROR_RESPONSES, wallet_response

CanFreezeBalances = staff_with_permission(services.FREEZE_PERMISSION)


@extend_schema_view(list=extend_schema(summary="List active currencies", tags=["currencies"]))
class CurrencyViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = CurrencySerializer
    queryset = Currency.objects.none()
    filter_backends: list = []

    def get_queryset(self):
        return selectors.currency_list_active()


WALLET_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The wallet's id.")


class _BalanceStatusView(APIView):
    """Freeze or unfreeze a wallet's balance; subclasses name the service."""

    permission_classes = [permissions.IsAuthenticated, CanFreezeBalances]
    change = None  # balance_freeze or balance_unfreeze
    input_serializer = WalletReasonInputSerializer

    def post(self, request: Request, pk: str) -> Response:
        wallet = wallet_selectors.wallet_get_for(user=request.user, wallet_id=pk)
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.change(actor=request.user, balance=wallet.balance, reason=data.validated_data["reason"])
        return wallet_response(wallet, user=request.user)


@extend_schema_view(
    post=extend_schema(
        summary="Freeze a wallet's balance (staff, reason required): money comes in, nothing goes out",
        tags=["wallets"],
        operation_id="wallets_freeze_create",
        parameters=[WALLET_ID],
        request=WalletRequiredReasonInputSerializer,
        responses={200: WalletSerializer, **ERROR_RESPONSES},
    )
)
class BalanceFreezeView(_BalanceStatusView):
    change = staticmethod(services.balance_freeze)
    input_serializer = WalletRequiredReasonInputSerializer


@extend_schema_view(
    post=extend_schema(
        summary="Unfreeze a wallet's balance (staff)",
        tags=["wallets"],
        operation_id="wallets_unfreeze_create",
        parameters=[WALLET_ID],
        request=WalletReasonInputSerializer,
        responses={200: WalletSerializer, **ERROR_RESPONSES},
    )
)
class BalanceUnfreezeView(_BalanceStatusView):
    change = staticmethod(services.balance_unfreeze)
