from django.contrib import admin

from alerts.models import Alert, Threshold


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["key", "cluster", "account", "state", "severity", "started_at", "fired_at", "resolved_at"]
    list_filter = ["state", "severity", "cluster"]
    search_fields = ["key", "message"]
    readonly_fields = [f.name for f in Alert._meta.fields]


@admin.register(Threshold)
class ThresholdAdmin(admin.ModelAdmin):
    list_display = ["check_name", "cluster", "account", "stream", "consumer", "warning", "critical"]
    list_filter = ["cluster", "check_name"]
