"""``POST /api/payments/callback/``: the payment provider says a deposit's money arrived or failed
(SPEC §12). Authenticated by its signature alone; nothing changes unless it verifies."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from transactions import deposits
from transactions.serializers import PaymentCallbackSerializer
from walletmanager.api.parsers import JSONParser

ERROR = OpenApiResponse(description='`{"code": "...", "detail": "..."}`')


class PaymentCallbackView(APIView):
    authentication_classes: list = []  # no session, no CSRF: the signature is the credential
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    throttle_classes: list = []

    def get_authenticate_header(self, request) -> str:
        # A failed signature is a 401 (not DRF's 403 for views without authenticators).
        return deposits.SIGNATURE_HEADER

    @extend_schema(
        summary="Payment provider callback (signed): a pending deposit's money arrived or failed",
        description=(
            "Header `WalletManager-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(PAYMENT_CALLBACK_SECRET, "
            '"<t>.<raw body>")>`. A missing or wrong signature, or `t` more than 5 minutes away, is a 401 and '
            "changes nothing. `succeeded` posts the amount received; `failed` rejects the deposit; the same "
            "`provider_id` again answers the first result (`replayed: true`)."
        ),
        tags=["payments"],
        auth=[],
        request=PaymentCallbackSerializer,
        parameters=[OpenApiParameter(deposits.SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True)],
        responses={
            200: OpenApiResponse(description="`{reference, transaction, status, replayed}`"),
            400: ERROR,
            401: ERROR,
            404: ERROR,
            409: ERROR,
        },
        examples=[
            OpenApiExample(
                "succeeded",
                value={
                    "reference": "WM-7K3Q-9XBD-2F",
                    "provider_id": "pay_123",
                    "amount": "100.00",
                    "currency": "USD",
                    "status": "succeeded",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        raw = request.body  # read before parsing: the signature covers the exact bytes
        try:
            deposits.verify_payment_signature(raw, request.headers.get(deposits.SIGNATURE_HEADER))
        except deposits.InvalidSignature as error:
            raise NotAuthenticated(str(error)) from None
        body = PaymentCallbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        transaction, replayed = deposits.deposit_settle(event=deposits.PaymentEvent(**body.validated_data))
        return Response(
            {
                "reference": transaction.reference,
                "transaction": str(transaction.pk),
                "status": transaction.status,
                "replayed": replayed,
            },
            status=status.HTTP_200_OK,
        )
