from django.apps import AppConfig, apps


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # Alerts tell us about transitions through signals sent after their transaction commits.
        if apps.is_installed("alerts"):
            from alerts import signals
            from notifications import receivers

            signals.alert_fired.connect(receivers.on_alert_fired, dispatch_uid="notifications.alert_fired")
            signals.alert_resolved.connect(receivers.on_alert_resolved, dispatch_uid="notifications.alert_resolved")
