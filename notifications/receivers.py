"""Receivers of the alerts app's signals (connected in NotificationsConfig.ready). A failure here is
logged and never breaks the poll that changed the alert."""

import logging

from notifications import services
from notifications.models import Transition

log = logging.getLogger(__name__)


def on_alert_fired(sender=None, alert=None, **kwargs) -> None:
    _notify(alert, Transition.FIRED)


def on_alert_resolved(sender=None, alert=None, **kwargs) -> None:
    _notify(alert, Transition.RESOLVED)


def _notify(alert, transition: str) -> None:
    if alert is None:
        return
    try:
        services.notify(alert=alert, transition=transition)
    except Exception:  # notifications must never break the alert pipeline
        log.exception("notifications for alert %s (%s) not created", getattr(alert, "pk", None), transition)
