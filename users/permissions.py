from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    """Staff operators only (role admin). Whether the operator may do the particular thing is the service's call."""

    message = "Staff only."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
