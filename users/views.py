"""The users API: register, login/logout, the caller's profile and staff commands on users.

Views parse input with a serializer, call one service and render the result.
"""

from __future__ import annotations

from django.contrib.auth import logout
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.models import AuthToken
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from users import selectors, services
from users.serializers import (
    LoginInputSerializer,
    LoginOutputSerializer,
    ProfileUpdateInputSerializer,
    ReasonInputSerializer,
    RegisterInputSerializer,
    RequiredReasonInputSerializer,
    UserErrorSerializer,
    UserOutputSerializer,
)
from users.throttles import RegisterThrottle
from walletmanager.api.permissions import IsStaff
from walletmanager.client_ip import client_ip

BAD_INPUT = OpenApiResponse(description="Invalid input: a map of field names to messages.")
UNAUTHENTICATED = OpenApiResponse(UserErrorSerializer, description="Not logged in.")
THROTTLED = OpenApiResponse(UserErrorSerializer, description="Too many attempts; retry later.")


class RegisterView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        operation_id="auth_register",
        request=RegisterInputSerializer,
        responses={201: UserOutputSerializer, 400: BAD_INPUT, 429: THROTTLED},
        tags=["auth"],
        summary="Create a client account",
    )
    def post(self, request: Request) -> Response:
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    # The per-email and per-address throttles are the login policy's (users.login), shared with the
    # admin and the session login; a DRF view throttle here would count this entry point alone.
    throttle_classes: list = []

    @extend_schema(
        operation_id="auth_login",
        request=LoginInputSerializer,
        responses={
            200: LoginOutputSerializer,
            400: BAD_INPUT,
            401: OpenApiResponse(
                UserErrorSerializer,
                description="`invalid_credentials`: wrong email or password; staff only: `otp_required` (right "
                "password, no `otp`) or `invalid_otp` (wrong or reused code).",
            ),
            403: OpenApiResponse(
                UserErrorSerializer,
                description="`account_blocked`, `account_closed` or `account_locked` (staff lockout).",
            ),
            429: THROTTLED,
        },
        tags=["auth"],
        summary="Exchange email and password (staff: and a TOTP code) for an API token",
    )
    def post(self, request: Request) -> Response:
        serializer = LoginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance, token = services.user_login(**serializer.validated_data, ip=client_ip(request))
        return Response(LoginOutputSerializer({"token": token, "expiry": instance.expiry}).data)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout",
        request=None,
        responses={204: OpenApiResponse(description="Logged out."), 401: UNAUTHENTICATED},
        tags=["auth"],
        summary="Revoke the token of this request (or end the session)",
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AuthToken):
            services.auth_token_revoke(token=request.auth)
        else:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me_retrieve", responses={200: UserOutputSerializer, 401: UNAUTHENTICATED}, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(request.user).data)

    @extend_schema(
        operation_id="me_partial_update",
        request=ProfileUpdateInputSerializer,
        responses={200: UserOutputSerializer, 400: BAD_INPUT, 401: UNAUTHENTICATED},
        tags=["me"],
        summary="Change your first and last name",
    )
    def patch(self, request: Request) -> Response:
        serializer = ProfileUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, **serializer.validated_data)
        return Response(UserOutputSerializer(user).data)


STAFF_COMMAND_RESPONSES = {
    200: UserOutputSerializer,
    400: BAD_INPUT,
    401: UNAUTHENTICATED,
    403: OpenApiResponse(UserErrorSerializer, description="Not staff, `cannot_block_self` or `cannot_block_staff`."),
    404: OpenApiResponse(UserErrorSerializer, description="No such user."),
    409: OpenApiResponse(UserErrorSerializer, description="`invalid_state` or `user_has_open_wallets`."),
}


class UserViewSet(viewsets.GenericViewSet):
    """Staff commands on a user: block, unblock, close. Each takes a ``reason`` and answers the user."""

    queryset = selectors.user_list_for_staff()
    serializer_class = UserOutputSerializer
    permission_classes = [IsAuthenticated, IsStaff]

    def _run(self, request: Request, service, input_serializer=ReasonInputSerializer) -> Response:
        user = self.get_object()
        serializer = input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = service(actor=request.user, user=user, reason=serializer.validated_data["reason"])
        return Response(UserOutputSerializer(user).data)

    @extend_schema(
        request=RequiredReasonInputSerializer,
        responses=STAFF_COMMAND_RESPONSES,
        tags=["users"],
        summary="Block a user (reason required); their tokens and sessions end",
    )
    @action(detail=True, methods=["post"])
    def block(self, request: Request, pk: str | None = None) -> Response:
        return self._run(request, services.user_block, RequiredReasonInputSerializer)

    @extend_schema(
        request=ReasonInputSerializer,
        responses=STAFF_COMMAND_RESPONSES,
        tags=["users"],
        summary="Restore a blocked user to active",
    )
    @action(detail=True, methods=["post"])
    def unblock(self, request: Request, pk: str | None = None) -> Response:
        return self._run(request, services.user_unblock)

    @extend_schema(
        request=RequiredReasonInputSerializer,
        responses=STAFF_COMMAND_RESPONSES,
        tags=["users"],
        summary="Close a user for good (reason required; every wallet must be closed)",
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        return self._run(request, services.user_close, RequiredReasonInputSerializer)
