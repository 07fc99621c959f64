"""Where a team is told about its alerts (webhooks, NATS subjects), what it has silenced, and the
log of every notification sent with each of its attempts."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from clusters.models import Account, Cluster, Team


class ChannelKind(models.TextChoices):
    WEBHOOK = "webhook", "webhook"
    NATS = "nats", "NATS subject"


class NotificationChannel(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="notification_channels")
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    name = models.CharField(max_length=100)
    # Webhooks: may carry a secret in its query string, so it is only ever shown redacted.
    url = models.URLField(max_length=1000, blank=True)
    # NATS: a subject on one of the team's accounts, published with natsdash's credentials for it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="notification_channels")
    subject = models.CharField(max_length=1024, blank=True)
    enabled = models.BooleanField(default=True)
    on_fire = models.BooleanField(default=True)
    on_resolve = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="notification_channel_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.team}: {self.name} ({self.kind})"

    @property
    def destination(self) -> str:
        """Where it goes, safe to show: a webhook's scheme, host and port only."""
        from notifications.rules import redact_url

        if self.kind == ChannelKind.WEBHOOK:
            return redact_url(self.url)
        return f"{self.account} {self.subject}" if self.account_id else self.subject


class Silence(models.Model):
    """No notification to the team for alerts matching every field that is set, until ends_at."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="silences")
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, null=True, blank=True, related_name="silences")
    account = models.CharField(max_length=200, blank=True)
    # A check, e.g. "consumer.num_pending", or a family of checks, e.g. "consumer"; blank for any.
    check_name = models.CharField(max_length=100, blank=True)
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ends_at", "-id"]

    def __str__(self) -> str:
        return f"silence of {self.team} until {self.ends_at:%Y-%m-%d %H:%M}"

    @property
    def active(self) -> bool:
        return self.ends_at > timezone.now()


class Transition(models.TextChoices):
    FIRED = "fired", "fired"
    RESOLVED = "resolved", "resolved"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "pending"
    RETRYING = "retrying", "retrying"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed"


class Delivery(models.Model):
    """One notification of one alert transition to one channel. The body is frozen when the
    transition happens, so a retry after the alert changed still says what happened then. The
    alert is referenced by id (the log outlives pruned alerts)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(NotificationChannel, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="deliveries")
    channel_name = models.CharField(max_length=100)
    alert_id = models.BigIntegerField(db_index=True)
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="notification_deliveries")
    account = models.CharField(max_length=200, blank=True)
    check_name = models.CharField(max_length=100, blank=True)  # the alert check, e.g. "consumer.num_pending"
    transition = models.CharField(max_length=16, choices=Transition.choices)
    # fired_at or resolved_at of the alert: one delivery per channel and transition, however often
    # the signal is sent.
    transition_at = models.DateTimeField()
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "alert_id", "transition", "transition_at"],
                                    name="delivery_once_per_transition"),
        ]
        indexes = [models.Index(fields=["team", "-created_at"], name="delivery_recent")]

    def __str__(self) -> str:
        return f"{self.transition} alert {self.alert_id} to {self.channel_name}: {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    ok = models.BooleanField(default=False)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    retry_in = models.FloatField(null=True, blank=True)  # seconds until the next attempt, when one follows

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="delivery_attempt_unique")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
