"""The fleet: clusters and their nodes, NATS accounts with credentials, teams and their grants,
the latest polled state, time series samples and status events."""

import hashlib
import json
import secrets as token_secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from clusters.secrets import EncryptedTextField

name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
    "Use letters, digits, '.', '_' and '-', starting with a letter or digit.",
)


class ClusterStatus(models.TextChoices):
    UNKNOWN = "unknown", "not polled yet"
    HEALTHY = "healthy", "healthy"
    DEGRADED = "degraded", "degraded"
    DOWN = "down", "down"


class Cluster(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[name_validator])
    nats_urls = models.JSONField(default=list, blank=True, help_text="Client URLs, nats://host:port")
    poll_interval = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds between polls; empty: POLL_INTERVAL")
    # Latest poll, written by services.record_poll.
    status = models.CharField(max_length=16, choices=ClusterStatus.choices, default=ClusterStatus.UNKNOWN)
    nats_cluster_name = models.CharField(max_length=200, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_poll_ms = models.FloatField(null=True, blank=True)
    poll_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    topology = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_poll_interval(self) -> int:
        return self.poll_interval or settings.POLL_INTERVAL

    def is_due(self, now) -> bool:
        if self.last_polled_at is None:
            return True
        return (now - self.last_polled_at).total_seconds() >= self.effective_poll_interval - 0.5


class NodeStatus(models.TextChoices):
    UNKNOWN = "unknown", "not polled yet"
    UP = "up", "up"
    DOWN = "down", "down"


class Node(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="nodes")
    monitor_url = models.URLField(max_length=300)
    # Learned from /varz: nodes are keyed by server_name (server_id changes on every restart).
    server_name = models.CharField(max_length=200, blank=True)
    server_id = models.CharField(max_length=100, blank=True)
    version = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=16, choices=NodeStatus.choices, default=NodeStatus.UNKNOWN)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    figures = models.JSONField(default=dict, blank=True)  # latest varz figures and rates

    class Meta:
        ordering = ["server_name", "monitor_url"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "monitor_url"], name="node_unique_monitor_url"),
        ]

    def __str__(self) -> str:
        return self.server_name or self.monitor_url

    @property
    def display_name(self) -> str:
        return self.server_name or self.monitor_url


class Account(models.Model):
    """A NATS account of a cluster and how natsdash connects to it. Secrets are encrypted."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="accounts")
    name = models.CharField(max_length=200)
    is_system = models.BooleanField(default=False)
    user = models.CharField(max_length=200, blank=True)
    password = EncryptedTextField(blank=True)
    token = EncryptedTextField(blank=True)
    nkey_seed = EncryptedTextField(blank=True)
    creds = EncryptedTextField(blank=True)
    creds_file = models.CharField(max_length=500, blank=True)
    tls_ca_file = models.CharField(max_length=500, blank=True)
    tls_cert_file = models.CharField(max_length=500, blank=True)
    tls_key_file = models.CharField(max_length=500, blank=True)
    # Latest per-account figures summed over the nodes' /accstatz, with rates (record_poll).
    figures = models.JSONField(default=dict, blank=True)
    # Latest JetStream usage and limits from $JS.API.INFO: {"memory", "storage", "streams",
    # "consumers", "limits": {"max_memory", "max_storage", "max_streams", "max_consumers"}}, plus
    # "tiers": {"R1": {...the same keys...}, ...} when the account has tiered limits.
    jetstream = models.JSONField(default=dict, blank=True)
    jetstream_at = models.DateTimeField(null=True, blank=True)
    jetstream_error = models.TextField(blank=True)

    SECRET_FIELDS = ("password", "token", "nkey_seed", "creds")

    class Meta:
        ordering = ["cluster__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "name"], name="account_unique_name"),
            models.UniqueConstraint(fields=["cluster"], condition=models.Q(is_system=True),
                                    name="one_system_account_per_cluster"),
        ]

    def __str__(self) -> str:
        return f"{self.cluster.name}/{self.name}"

    @property
    def auth_method(self) -> str:
        """How natsdash authenticates, for display; never the secret itself."""
        if self.creds or self.creds_file:
            return "creds"
        if self.nkey_seed:
            return "nkey"
        if self.token:
            return "token"
        if self.user:
            return "user/password"
        return "none"


class Role(models.TextChoices):
    VIEWER = "viewer", "viewer"
    OPERATOR = "operator", "operator"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[name_validator])
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamGrant(models.Model):
    """A team may see (and its operators act on) one account of one cluster."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="grants")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="grants")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "account"], name="grant_unique")]

    def __str__(self) -> str:
        return f"{self.team} -> {self.account}"


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class ApiToken(models.Model):
    """A user's API token: looked up by its SHA-256 digest, kept encrypted so it can be shown again."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token")
    digest = models.CharField(max_length=64, unique=True)
    token = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def new_token(cls) -> str:
        return "nd_" + token_secrets.token_urlsafe(32)

    def __str__(self) -> str:
        return f"API token of {self.user}"


class Resolution(models.IntegerChoices):
    RAW = 0, "every poll"
    MINUTE = 60, "one minute"
    HOUR = 3600, "one hour"


class NodeSample(models.Model):
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="samples")
    at = models.DateTimeField()
    resolution = models.PositiveIntegerField(choices=Resolution.choices, default=Resolution.RAW)
    msgs_in_per_s = models.FloatField(null=True)
    msgs_out_per_s = models.FloatField(null=True)
    bytes_in_per_s = models.FloatField(null=True)
    bytes_out_per_s = models.FloatField(null=True)
    connections = models.IntegerField(null=True)
    subscriptions = models.IntegerField(null=True)
    slow_consumers = models.IntegerField(null=True)
    mem = models.BigIntegerField(null=True)
    cpu = models.FloatField(null=True)

    VALUES = ("msgs_in_per_s", "msgs_out_per_s", "bytes_in_per_s", "bytes_out_per_s", "connections",
              "subscriptions", "slow_consumers", "mem", "cpu")

    class Meta:
        indexes = [models.Index(fields=["node", "resolution", "at"], name="nodesample_series")]


class StreamSample(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="stream_samples")
    account = models.CharField(max_length=200)
    stream = models.CharField(max_length=200)
    at = models.DateTimeField()
    resolution = models.PositiveIntegerField(choices=Resolution.choices, default=Resolution.RAW)
    messages = models.BigIntegerField(null=True)
    bytes = models.BigIntegerField(null=True)

    VALUES = ("messages", "bytes")

    class Meta:
        indexes = [models.Index(fields=["cluster", "account", "stream", "resolution", "at"],
                                name="streamsample_series")]


class ConsumerSample(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="consumer_samples")
    account = models.CharField(max_length=200)
    stream = models.CharField(max_length=200)
    consumer = models.CharField(max_length=200)
    at = models.DateTimeField()
    resolution = models.PositiveIntegerField(choices=Resolution.choices, default=Resolution.RAW)
    num_pending = models.BigIntegerField(null=True)
    num_ack_pending = models.BigIntegerField(null=True)
    num_redelivered = models.BigIntegerField(null=True)
    ack_floor_stream_seq = models.BigIntegerField(null=True)

    VALUES = ("num_pending", "num_ack_pending", "num_redelivered", "ack_floor_stream_seq")

    class Meta:
        indexes = [models.Index(fields=["cluster", "account", "stream", "consumer", "resolution", "at"],
                                name="consumersample_series")]


class EventKind(models.TextChoices):
    NODE_DOWN = "node_down", "node down"
    NODE_UP = "node_up", "node up"
    SERVER_RESTARTED = "server_restarted", "server restarted"
    ROUTE_LOST = "route_lost", "route lost"
    ROUTE_RESTORED = "route_restored", "route restored"
    META_LEADER_CHANGED = "meta_leader_changed", "meta leader changed"


class Severity(models.TextChoices):
    INFO = "info", "info"
    WARNING = "warning", "warning"
    CRITICAL = "critical", "critical"


class Event(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="events")
    node = models.ForeignKey(Node, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.INFO)
    message = models.TextField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["cluster", "-at"], name="event_recent")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.message}"


class AccountStreams(models.Model):
    """The streams and consumers of one account as the latest poll saw them (each stream from its
    leader's report, each consumer from its own leader's). Kept apart from Cluster so fleet pages
    never load it, and stored so that lists never parse consumer detail and one stream is found
    without parsing the others: `summary` is a small row per stream, `detail_lines` holds one line
    per stream, its JSON-encoded name, a tab, and the full row as JSON."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="account_streams")
    account = models.CharField(max_length=200)
    polled_at = models.DateTimeField()
    summary = models.JSONField(default=list)
    detail_lines = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "account"], name="account_streams_unique")]

    def __str__(self) -> str:
        return f"streams of {self.cluster}/{self.account} at {self.polled_at}"

    def detail(self, stream: str) -> dict | None:
        key = json.dumps(stream) + "\t"
        text = "\n" + self.detail_lines
        start = text.find("\n" + key)
        if start < 0:
            return None
        start += 1 + len(key)
        end = text.find("\n", start)
        return json.loads(text[start:end if end >= 0 else None])

    def detail_json_rows(self) -> list[str]:
        """The full rows as JSON text, in name order, without parsing them."""
        return [line.partition("\t")[2] for line in self.detail_lines.splitlines()]
