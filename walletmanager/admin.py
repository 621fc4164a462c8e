from django.contrib import admin

from walletmanager.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail: searchable and filterable, never editable or deletable by anyone."""

    list_display = ("created_at", "action", "target_type", "target_id", "actor", "reason", "ip")
    list_filter = ("action", "target_type")
    search_fields = ("=target_id", "actor__email", "reason", "action")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    raw_id_fields = ("actor",)
    show_full_result_count = False
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
