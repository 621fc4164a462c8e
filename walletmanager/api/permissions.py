"""Who may call an endpoint. Staff endpoints ask for the same custom permission that shows the
matching admin action (SPEC §8), so an operator can do through the API exactly what the admin offers."""

from __future__ import annotations

from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    """Staff operators only (role admin)."""

    message = "Only staff may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


def staff_with_permission(permission: str) -> type[BasePermission]:
    """A permission class: staff holding ``permission`` (``app_label.codename``); superusers hold all."""

    class StaffWithPermission(BasePermission):
        message = f"Only staff with the {permission} permission may do this."

        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.is_staff and user.has_perm(permission))

    StaffWithPermission.__name__ = f"StaffWith_{permission.replace('.', '_')}"
    return StaffWithPermission
