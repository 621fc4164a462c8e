"""``/api/transactions/`` and ``/api/rates/`` (SPEC §7): parse, call one service, render."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from transactions import deposits, idempotency, selectors, serializers, services
from transactions.filters import TransactionFilter
from transactions.models import ExchangeRate, Transaction
from walletmanager.actors import is_staff_user
from walletmanager.api.pagination import UncountedPageNumberPagination
from walletmanager.api.permissions import IsStaff, staff_with_permission
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.serializers import ApprovalRequestSerializer
from walletmanager.approvals.services import approval_check_maker, approval_request
from wallets.throttles import PIN_THROTTLES

ERROR = OpenApiResponse(description='`{"code": "...", "detail": "..."}`: see the `Error` schema.')

TRANSACTION_CREATE_BODY = PolymorphicProxySerializer(
    component_name="TransactionCreate",
    serializers={
        "deposit": serializers.DepositInputSerializer,
        "withdrawal": serializers.WithdrawalInputSerializer,
        "transfer": serializers.TransferInputSerializer,
        "exchange": serializers.ExchangeInputSerializer,
        "adjustment": serializers.AdjustmentInputSerializer,
    },
    resource_type_field_name="kind",
)
# No discriminator tells the two apart: the schema makes this an anyOf (walletmanager.api.schema).
TRANSACTION_AS_SEEN = PolymorphicProxySerializer(
    component_name="TransactionAsSeen",
    serializers=[serializers.TransactionSerializer, serializers.TransactionDetailSerializer],
    resource_type_field_name=None,
)
TRANSACTION_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The transaction's id.")


@extend_schema_view(
    list=extend_schema(
        summary="Own transactions (staff: all, each also with `reason` and `provider_id`)", tags=["transactions"]
    ),
    retrieve=extend_schema(
        summary="One transaction (staff also see its reason, provider id and entries)",
        tags=["transactions"],
        parameters=[TRANSACTION_ID],
        responses={
            200: OpenApiResponse(
                TRANSACTION_AS_SEEN,
                description="A client gets a `Transaction`; staff get a `TransactionDetail`.",
            ),
            404: ERROR,
        },
    ),
    cancel=extend_schema(parameters=[TRANSACTION_ID]),
    approve=extend_schema(parameters=[TRANSACTION_ID]),
    reject=extend_schema(parameters=[TRANSACTION_ID]),
    confirm=extend_schema(parameters=[TRANSACTION_ID]),
    reverse=extend_schema(parameters=[TRANSACTION_ID]),
)
class TransactionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.TransactionSerializer
    # No total count: at a million transactions the COUNT(*) would cost more than the page.
    pagination_class = UncountedPageNumberPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = TransactionFilter
    lookup_value_regex = "[^/]+"
    throttle_classes = PIN_THROTTLES  # withdrawals and transfers take a PIN (SPEC §13)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Transaction.objects.none()
        return selectors.transaction_list_for(user=self.request.user)

    def get_object(self):
        user = self.request.user
        return selectors.transaction_get_for(
            user=user, transaction_id=self.kwargs["pk"], with_entries=is_staff_user(user)
        )

    def get_serializer_class(self):
        if self.action == "retrieve" and is_staff_user(self.request.user):
            return serializers.TransactionDetailSerializer
        if self.action == "list":
            return serializers.transaction_serializer_for(self.request.user)
        if self.action == "create":
            # The browsable API's raw form starts from a deposit body.
            return serializers.DepositInputSerializer
        if self.action in ("approve",):
            return serializers.TransactionReasonInputSerializer
        if self.action in ("reject", "reverse"):
            return serializers.TransactionRequiredReasonInputSerializer
        if self.action == "cancel":
            return serializers.TransactionEmptyInputSerializer
        return serializers.TransactionSerializer

    def get_permissions(self):
        if self.action == "approve":
            return [permissions.IsAuthenticated(), staff_with_permission(services.APPROVE_PERMISSION)()]
        if self.action == "reverse":
            return [permissions.IsAuthenticated(), staff_with_permission(services.REVERSE_PERMISSION)()]
        if self.action == "confirm":
            return [permissions.IsAuthenticated(), staff_with_permission(deposits.CONFIRM_PERMISSION)()]
        if self.action == "reject":
            # A withdrawal needs approve_withdrawal, a deposit confirm_deposit: the service checks which.
            return [permissions.IsAuthenticated(), IsStaff()]
        return super().get_permissions()

    # --- create ----------------------------------------------------------------------------------

    @extend_schema(
        summary="Move money",
        description=(
            "One body per `kind`. Send an `Idempotency-Key` header (1–255 characters) to make retries "
            "safe: the same key and body replay the first response with `Idempotent-Replayed: true`."
        ),
        tags=["transactions"],
        request=TRANSACTION_CREATE_BODY,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                {"type": "string", "pattern": f"^{idempotency.KEY_PATTERN.pattern}$"},
                OpenApiParameter.HEADER,
                required=False,
                description="1–255 printable ASCII characters, unique per request you mean once.",
            )
        ],
        responses={
            201: serializers.TransactionSerializer,
            202: OpenApiResponse(
                ApprovalRequestSerializer, description="An adjustment: a request a second operator decides."
            ),
            403: ERROR,
            404: ERROR,
            409: ERROR,
            422: ERROR,
        },
    )
    def create(self, request, *args, **kwargs):
        key = idempotency.clean_key(request.headers.get(idempotency.HEADER))
        if key is None:
            return self._create(request)
        return idempotency.idempotent_call(
            user=request.user,
            key=key,
            request_fingerprint=idempotency.fingerprint(request.data),
            perform=lambda request_id: self._create_rendering_errors(request, request_id),
        )

    def _create_rendering_errors(self, request, request_id) -> Response:
        try:
            return self._create(request, request_id=request_id)
        except Exception as error:  # noqa: BLE001 - rendered by DRF's handler; anything unknown is re-raised there
            return self.handle_exception(error)

    def _create(self, request, *, request_id=None) -> Response:
        data = request.data
        if not hasattr(data, "get"):
            raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
        # A body without "kind" is told the field is required, not that it "may not be null".
        kind = serializers.TransactionKindSerializer(data={name: data[name] for name in ("kind",) if name in data})
        kind.is_valid(raise_exception=True)
        kind = kind.validated_data["kind"]
        if kind == "adjustment":
            approval_check_maker(actor=request.user, action="adjust")  # 403 before the wallet is looked up
        body = serializers.INPUT_SERIALIZERS[kind](data=data)
        body.is_valid(raise_exception=True)
        result = self._perform(kind, request.user, body.validated_data, request_id=request_id)
        if isinstance(result, ApprovalRequest):
            return Response(ApprovalRequestSerializer(result).data, status=status.HTTP_202_ACCEPTED)
        return self._render(result, status.HTTP_201_CREATED)

    def _perform(self, kind: str, user, data: dict, *, request_id=None):
        wallet = selectors.wallet_for_movement(
            user=user, wallet_id=data["wallet"], own_only=kind in ("withdrawal", "transfer", "exchange")
        )
        if kind == "deposit":
            return deposits.transaction_deposit(
                actor=user,
                wallet=wallet,
                currency=data["currency"],
                amount=data["amount"],
                description=data["description"],
                request_id=request_id,
            )
        if kind == "withdrawal":
            return services.transaction_withdraw(
                actor=user,
                wallet=wallet,
                currency=data["currency"],
                amount=data["amount"],
                pin=data["pin"],
                description=data["description"],
                request_id=request_id,
            )
        if kind == "transfer":
            return services.transaction_transfer(
                actor=user,
                wallet=wallet,
                to_address=data["to_address"],
                currency=data["currency"],
                amount=data["amount"],
                pin=data["pin"],
                description=data["description"],
                request_id=request_id,
            )
        if kind == "exchange":
            to_wallet = None
            if data["to_wallet"] is not None:
                to_wallet = selectors.wallet_for_movement(user=user, wallet_id=data["to_wallet"], own_only=True)
            return services.transaction_exchange(
                actor=user,
                wallet=wallet,
                from_currency=data["from_currency"],
                to_currency=data["to_currency"],
                amount=data["amount"],
                to_wallet=to_wallet,
                request_id=request_id,
            )
        return approval_request(
            actor=user,
            action="adjust",
            reason=data["reason"],
            wallet=wallet,
            currency=data["currency"],
            amount=data["amount"],
            direction=data["direction"],
        )

    # --- commands on one transaction ---------------------------------------------------------------

    def _command(self, request, pk, serializer_class):
        """Validate a command's body, then find the transaction it acts on (404 if not the user's)."""
        body = serializer_class(data=request.data if hasattr(request.data, "get") else {"": request.data})
        body.is_valid(raise_exception=True)
        return selectors.transaction_get_for(user=request.user, transaction_id=pk), body.validated_data

    def _render(self, transaction, http_status=status.HTTP_200_OK) -> Response:
        serializer_class = serializers.transaction_serializer_for(self.request.user)
        return Response(serializer_class(transaction, context=self.get_serializer_context()).data, status=http_status)

    @extend_schema(
        summary="Cancel your pending withdrawal",
        tags=["transactions"],
        request=serializers.TransactionEmptyInputSerializer,
        responses={200: serializers.TransactionSerializer, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        transaction, _ = self._command(request, pk, serializers.TransactionEmptyInputSerializer)
        return self._render(services.transaction_cancel(actor=request.user, transaction=transaction))

    @extend_schema(
        summary="Approve a pending withdrawal (staff)",
        tags=["transactions"],
        request=serializers.TransactionReasonInputSerializer,
        responses={200: serializers.TransactionSerializer, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        transaction, data = self._command(request, pk, serializers.TransactionReasonInputSerializer)
        return self._render(
            services.transaction_approve(actor=request.user, transaction=transaction, reason=data["reason"])
        )

    @extend_schema(
        summary="Reject a pending withdrawal (approve_withdrawal) or a pending deposit (confirm_deposit)",
        tags=["transactions"],
        request=serializers.TransactionRequiredReasonInputSerializer,
        responses={200: serializers.StaffTransactionSerializer, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        transaction, data = self._command(request, pk, serializers.TransactionRequiredReasonInputSerializer)
        if transaction.kind == Transaction.Kind.DEPOSIT:
            return self._render(
                deposits.deposit_reject(actor=request.user, transaction=transaction, reason=data["reason"])
            )
        return self._render(
            services.transaction_reject(actor=request.user, transaction=transaction, reason=data["reason"])
        )

    @extend_schema(
        summary="Confirm that a pending deposit's money arrived (confirm_deposit); it posts",
        description=(
            "Without `received_amount`, or with the amount asked for, the deposit posts: 200 with the "
            "transaction. With another `received_amount` nothing posts: 202 with an approval request "
            "(`confirm_deposit_received`) that a second Finance operator decides on `/api/approvals/`."
        ),
        tags=["transactions"],
        request=serializers.DepositConfirmInputSerializer,
        responses={
            200: serializers.StaffTransactionSerializer,
            202: ApprovalRequestSerializer,
            403: ERROR,
            404: ERROR,
            409: ERROR,
        },
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        transaction, data = self._command(request, pk, serializers.DepositConfirmInputSerializer)
        result = deposits.deposit_confirm(
            actor=request.user,
            transaction=transaction,
            reason=data["reason"],
            received_amount=data.get("received_amount"),
        )
        if isinstance(result, ApprovalRequest):
            return Response(ApprovalRequestSerializer(result).data, status=status.HTTP_202_ACCEPTED)
        return self._render(result)

    @extend_schema(
        summary="Ask for a posted transaction to be reversed (reverse_transaction): a second operator decides",
        tags=["transactions"],
        request=serializers.TransactionRequiredReasonInputSerializer,
        responses={202: ApprovalRequestSerializer, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        transaction, data = self._command(request, pk, serializers.TransactionRequiredReasonInputSerializer)
        approval = approval_request(
            actor=request.user, action="reverse", reason=data["reason"], transaction=transaction
        )
        return Response(ApprovalRequestSerializer(approval).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(list=extend_schema(summary="The newest rate of every currency pair", tags=["rates"]))
class ExchangeRateViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.ExchangeRateSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExchangeRate.objects.none()
        return selectors.rate_list_current()
