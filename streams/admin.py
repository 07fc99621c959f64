from django.contrib import admin

from streams.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: entries cannot be added, changed or deleted here."""

    list_display = ["at", "username", "cluster", "account", "action", "target", "outcome"]
    list_filter = ["action", "outcome", "cluster"]
    search_fields = ["username", "cluster", "account", "target"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
