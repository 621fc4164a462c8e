"""Wallet endpoints (SPEC §7): thin views that parse input, call one service and render the wallet."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from walletmanager.api.permissions import staff_with_permission
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.serializers import ApprovalRequestSerializer
from wallets import selectors, services
from wallets.filters import WalletFilter
from wallets.models import Wallet
from wallets.serializers import (
    WalletCloseInputSerializer,
    WalletCreateInputSerializer,
    WalletReasonInputSerializer,
    WalletRequiredReasonInputSerializer,
    WalletSerializer,
    WalletUpdateInputSerializer,
    wallet_serializer_for,
)
from wallets.throttles import PIN_THROTTLES

ERROR_RESPONSES = {
    400: OpenApiResponse(description="Invalid input: a map of field → messages."),
    401: OpenApiResponse(description="Not authenticated."),
    403: OpenApiResponse(description='Not allowed: {"code", "detail"}.'),
    404: OpenApiResponse(description="No such wallet (or not yours)."),
    409: OpenApiResponse(description='Refused by a business rule: {"code", "detail"}.'),
}

# Checked before the wallet is looked up, so a caller without the power learns nothing of which
# wallets exist; wallet_block / wallet_unblock check the same permission themselves.
CanBlockWallets = staff_with_permission(services.BLOCK_PERMISSION)


def wallet_response(wallet: Wallet, *, user, status_code: int = status.HTTP_200_OK) -> Response:
    """Re-read through the selector so the balance and assets shown are the committed ones."""
    wallet = selectors.wallet_get_for(user=user, wallet_id=wallet.pk)
    return Response(wallet_serializer_for(user)(wallet).data, status=status_code)


@extend_schema_view(
    list=extend_schema(summary="List wallets", description="Own wallets; staff see every client wallet."),
    retrieve=extend_schema(summary="Get a wallet", responses={200: WalletSerializer, **ERROR_RESPONSES}),
)
class WalletViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = WalletSerializer
    filterset_class = WalletFilter
    queryset = Wallet.objects.none()  # the real one depends on the user: see get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return Wallet.objects.none()
        return selectors.wallet_list_for(user=self.request.user)

    def get_serializer_class(self):
        return wallet_serializer_for(self.request.user) if self.request else WalletSerializer

    def get_object(self) -> Wallet:
        wallet = selectors.wallet_get_for(user=self.request.user, wallet_id=self.kwargs["pk"])
        self.check_object_permissions(self.request, wallet)
        return wallet

    @extend_schema(
        summary="Open a wallet",
        request=WalletCreateInputSerializer,
        responses={201: WalletSerializer, **ERROR_RESPONSES},
    )
    def create(self, request: Request) -> Response:
        data = WalletCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        wallet = services.wallet_create(
            actor=request.user,
            owner=values.get("owner", request.user),
            name=values["name"],
            kind=values["kind"],
            balance_kind=values["balance_kind"],
            currency=values["currency"] or None,
            pin=values["pin"],
            credit_limit=values.get("credit_limit", 0),
            credit_reason=values.get("reason", ""),
        )
        return wallet_response(wallet, user=request.user, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rename a wallet (Finance: also change its credit limit)",
        request=WalletUpdateInputSerializer,
        responses={
            200: WalletSerializer,
            202: OpenApiResponse(
                ApprovalRequestSerializer, description="A raised credit limit: a request for a second operator."
            ),
            **ERROR_RESPONSES,
        },
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        wallet = self.get_object()
        data = WalletUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = services.wallet_update(
            actor=request.user,
            wallet=wallet,
            name=values.get("name"),
            credit_limit=values.get("credit_limit"),
            reason=values["reason"],
        )
        if isinstance(result, ApprovalRequest):
            return Response(ApprovalRequestSerializer(result).data, status=status.HTTP_202_ACCEPTED)
        wallet = result
        return wallet_response(wallet, user=request.user)

    @extend_schema(
        summary="Close a wallet (owner with PIN, or staff); it must be empty",
        request=WalletCloseInputSerializer,
        responses={200: WalletSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"], throttle_classes=PIN_THROTTLES)
    def close(self, request: Request, pk: str) -> Response:
        wallet = self.get_object()
        data = WalletCloseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wallet = services.wallet_close(
            actor=request.user,
            wallet=wallet,
            pin=data.validated_data.get("pin") or None,
            reason=data.validated_data["reason"],
        )
        return wallet_response(wallet, user=request.user)

    @extend_schema(
        summary="Block a wallet (staff, reason required)",
        request=WalletRequiredReasonInputSerializer,
        responses={200: WalletSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated, CanBlockWallets])
    def block(self, request: Request, pk: str) -> Response:
        wallet = self.get_object()
        data = WalletRequiredReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wallet = services.wallet_block(actor=request.user, wallet=wallet, reason=data.validated_data["reason"])
        return wallet_response(wallet, user=request.user)

    @extend_schema(
        summary="Unblock a wallet (staff)",
        request=WalletReasonInputSerializer,
        responses={200: WalletSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated, CanBlockWallets])
    def unblock(self, request: Request, pk: str) -> Response:
        wallet = self.get_object()
        data = WalletReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wallet = services.wallet_unblock(actor=request.user, wallet=wallet, reason=data.validated_data["reason"])
        return wallet_response(wallet, user=request.user)
