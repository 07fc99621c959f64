from django.contrib import admin

from notifications.models import Delivery, DeliveryAttempt, NotificationChannel, Silence


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "kind", "destination", "enabled", "on_fire", "on_resolve")
    list_filter = ("kind", "enabled", "team")
    # The URL may hold a secret: never shown here; webhooks are added on the team's notifications page.
    exclude = ("url",)


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = ("team", "cluster", "account", "check_name", "ends_at", "reason", "created_by")
    list_filter = ("team",)


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "at", "ok", "response_code", "error", "duration_ms", "retry_in")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "team", "channel_name", "cluster", "account", "transition", "status", "attempts",
                    "response_code")
    list_filter = ("status", "transition", "team")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]

    def has_add_permission(self, request):
        return False
