"""``/api/approvals/`` (SPEC §12): the requests waiting for a second operator, and their decisions."""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from walletmanager.api.permissions import IsStaff
from walletmanager.approvals import selectors, services
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.serializers import (
    ApprovalDecisionInputSerializer,
    ApprovalRejectInputSerializer,
    ApprovalRequestSerializer,
)
from walletmanager.exceptions import NotFoundError

ERROR = OpenApiResponse(description='`{"code": "...", "detail": "..."}`')


class ApprovalRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ApprovalRequest.Status.choices)
    action = django_filters.CharFilter()

    class Meta:
        model = ApprovalRequest
        fields = ["status", "action"]


@extend_schema_view(
    list=extend_schema(summary="Approval requests you may decide (and your own)", tags=["approvals"]),
    retrieve=extend_schema(
        summary="One approval request", tags=["approvals"], responses={200: ApprovalRequestSerializer, 404: ERROR}
    ),
)
class ApprovalRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ApprovalRequestSerializer
    permission_classes = [permissions.IsAuthenticated, IsStaff]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApprovalRequestFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApprovalRequest.objects.none()
        return selectors.approval_list_for(user=self.request.user)

    def _request(self, pk) -> ApprovalRequest:
        request = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() else None
        if request is None:
            raise NotFoundError("No such approval request.")
        return request

    @extend_schema(
        summary="Approve: the action runs now (a refusal leaves the request failed with its code)",
        tags=["approvals"],
        request=ApprovalDecisionInputSerializer,
        responses={200: ApprovalRequestSerializer, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        body = ApprovalDecisionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decided = services.approval_approve(
            actor=request.user, request=self._request(pk), reason=body.validated_data["reason"]
        )
        return Response(ApprovalRequestSerializer(decided).data)

    @extend_schema(
        summary="Reject (reason required): nothing runs",
        tags=["approvals"],
        request=ApprovalRejectInputSerializer,
        responses={200: ApprovalRequestSerializer, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        body = ApprovalRejectInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decided = services.approval_reject(
            actor=request.user, request=self._request(pk), reason=body.validated_data["reason"]
        )
        return Response(ApprovalRequestSerializer(decided).data)
