"""Sent with `alert=<Alert>` after the evaluation that fired or resolved the alert commits.
Receivers (notifications) connect to these; the alerts app only sends."""

from django.dispatch import Signal

alert_fired = Signal()
alert_resolved = Signal()
