"""What the admins of every app share."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """Rows operators may read but never add, change or delete in the admin (money, logs): what
    changes them is a service, through an action."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
