"""Alerts (a failing check held for its rule's period, with history) and threshold overrides."""

from django.db import models

from alerts.checks import CHECKS, THRESHOLD_CHECKS


class AlertState(models.TextChoices):
    PENDING = "pending", "pending"
    FIRING = "firing", "firing"
    RESOLVED = "resolved", "resolved"


class AlertSeverity(models.TextChoices):
    WARNING = "warning", "warning"
    CRITICAL = "critical", "critical"


OPEN_STATES = (AlertState.PENDING, AlertState.FIRING)


class Alert(models.Model):
    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE, related_name="alerts")
    account = models.CharField(max_length=200, blank=True)  # "" = cluster-wide (node, mesh, meta)
    check_name = models.CharField(max_length=100)  # "consumer.num_pending" ("check" is Model.check)
    target = models.CharField(max_length=600)  # "STREAM/CONSUMER": two names of up to 255 characters
    key = models.CharField(max_length=1200, db_index=True)  # f"{check}|{target}", with the account if any
    state = models.CharField(max_length=16, choices=AlertState.choices)
    severity = models.CharField(max_length=16, choices=AlertSeverity.choices)  # the worst reached
    message = models.TextField()
    value = models.FloatField(null=True)
    peak = models.FloatField(null=True)
    threshold = models.FloatField(null=True)
    started_at = models.DateTimeField()  # first failing
    fired_at = models.DateTimeField(null=True, blank=True)
    last_failing_at = models.DateTimeField()
    ok_since = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "key"], condition=models.Q(state__in=["pending", "firing"]),
                                    name="one_open_alert_per_key"),
        ]
        indexes = [models.Index(fields=["state", "cluster"], name="alert_state")]

    def __str__(self) -> str:
        return f"{self.cluster_id} {self.key} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def as_dict(self) -> dict:
        def iso(moment):
            return moment.isoformat() if moment else None

        return {
            "id": self.pk, "cluster": self.cluster.name, "account": self.account, "check": self.check_name,
            "target": self.target, "key": self.key, "state": self.state, "severity": self.severity,
            "message": self.message, "value": self.value, "peak": self.peak, "threshold": self.threshold,
            "started_at": iso(self.started_at), "fired_at": iso(self.fired_at),
            "last_failing_at": iso(self.last_failing_at), "ok_since": iso(self.ok_since),
            "resolved_at": iso(self.resolved_at),
        }


class Threshold(models.Model):
    """A threshold set in the UI for one check: cluster-wide (account blank), for an account, a
    stream (account and stream) or a consumer (all three). Empty warning/critical: that level off."""

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE, related_name="thresholds")
    account = models.CharField(max_length=200, blank=True)
    stream = models.CharField(max_length=200, blank=True)
    consumer = models.CharField(max_length=200, blank=True)
    check_name = models.CharField(max_length=100, choices=[(c, f"{c}: {CHECKS[c]}") for c in THRESHOLD_CHECKS])
    warning = models.FloatField(null=True, blank=True)
    critical = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cluster", "check_name", "account", "stream", "consumer"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "check_name", "account", "stream", "consumer"],
                                    name="threshold_unique_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.check_name} on {self.scope}"

    @property
    def scope(self) -> str:
        return "/".join(part for part in (self.account, self.stream, self.consumer) if part) or "whole cluster"


class ClusterHealth(models.Model):
    """The latest check results of a cluster, and what the checks remember between polls."""

    cluster = models.OneToOneField("clusters.Cluster", on_delete=models.CASCADE, related_name="health")
    evaluated_at = models.DateTimeField()
    results = models.JSONField(default=list)  # failing results, and every node, mesh, meta and account one
    ok_counts = models.JSONField(default=dict)  # fine stream and consumer results: {account: {check: n}}
    memory = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"health of {self.cluster_id} at {self.evaluated_at}"
