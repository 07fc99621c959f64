"""The gauges of /metrics, read from the latest poll in the database and scoped to one user:
nodes and routes of the clusters they see, streams, consumers and accounts of the accounts they
see, and the alerts they see. No I/O beyond the database.

Cardinality is bounded: each family carries at most METRICS_MAX_SERIES series (in label order;
the rest are dropped and counted in natsdash_metrics_series_dropped{family}), and with
METRICS_CONSUMER_LABELS off the consumer families are summed per stream, without a consumer label."""

from __future__ import annotations

import json

from django.apps import apps
from prometheus_client.core import GaugeMetricFamily

from clusters import selectors
from clusters.models import AccountStreams

PREFIX = "natsdash_"

NODE_GAUGES = (
    # (family, figures key, help, scale)
    ("node_connections", "connections", "Client connections of the server", 1),
    ("node_subscriptions", "subscriptions", "Subscriptions of the server", 1),
    ("node_slow_consumers", "slow_consumers", "Slow consumers the server counted since it started", 1),
    ("node_msgs_in_per_second", "msgs_in_per_s", "Messages per second into the server (between the last two polls)", 1),
    ("node_msgs_out_per_second", "msgs_out_per_s", "Messages per second out of the server", 1),
    ("node_bytes_in_per_second", "bytes_in_per_s", "Bytes per second into the server", 1),
    ("node_bytes_out_per_second", "bytes_out_per_s", "Bytes per second out of the server", 1),
    ("node_cpu_percent", "cpu", "CPU use of the server process in percent", 1),
    ("node_memory_bytes", "mem", "Resident memory of the server process", 1),
    ("node_routes", "routes", "Route connections of the server", 1),
    ("node_remotes", "remotes", "Distinct route peers of the server", 1),
)
STREAM_GAUGES = (
    ("stream_messages", "messages", "Messages stored in the stream"),
    ("stream_bytes", "bytes", "Bytes stored in the stream"),
    ("stream_first_seq", "first_seq", "First sequence stored in the stream"),
    ("stream_last_seq", "last_seq", "Last sequence stored in the stream"),
    ("stream_consumers", "consumer_count", "Consumers of the stream"),
)
CONSUMER_GAUGES = (
    ("consumer_num_pending", "num_pending", "Messages not yet delivered to the consumer"),
    ("consumer_num_ack_pending", "num_ack_pending", "Messages delivered and not yet acknowledged"),
    ("consumer_num_redelivered", "num_redelivered", "Messages redelivered at least once"),
    ("consumer_num_waiting", "num_waiting", "Pull requests waiting"),
)
ACCOUNT_GAUGES = (
    ("account_connections", "connections", "Client connections of the account over all servers"),
    ("account_leafnodes", "leafnodes", "Leafnode connections of the account"),
    ("account_subscriptions", "subscriptions", "Subscriptions of the account"),
    ("account_slow_consumers", "slow_consumers", "Slow consumers of the account"),
)
ACCOUNT_JETSTREAM_GAUGES = (
    ("account_jetstream_memory_bytes", "memory", "JetStream memory the account uses"),
    ("account_jetstream_storage_bytes", "storage", "JetStream storage the account uses"),
    ("account_jetstream_streams", "streams", "Streams of the account"),
    ("account_jetstream_consumers", "consumers", "Consumers of the account"),
)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


class Family:
    """A gauge family that keeps at most `cap` series and counts the rest."""

    def __init__(self, name: str, documentation: str, labels: list[str], cap: int):
        self.gauge = GaugeMetricFamily(PREFIX + name, documentation, labels=labels)
        self.name = PREFIX + name
        self.cap = cap
        self.rows: dict[tuple[str, ...], float] = {}
        self.dropped = 0

    def add(self, labels: tuple[str, ...], value) -> None:
        number = _number(value)
        if number is None:
            return
        if labels in self.rows:
            self.rows[labels] += number
            return
        if len(self.rows) >= self.cap:
            self.dropped += 1
            return
        self.rows[labels] = number

    def family(self) -> GaugeMetricFamily:
        for labels, value in self.rows.items():
            self.gauge.add_metric(list(labels), value)
        return self.gauge


class FleetCollector:
    """A prometheus-client collector over what `user` may see."""

    def __init__(self, user, *, consumer_labels: bool, max_series: int):
        self.user = user
        self.consumer_labels = consumer_labels
        self.max_series = max_series

    def collect(self):
        families: list[Family] = []

        def family(name, documentation, labels):
            made = Family(name, documentation, labels, self.max_series)
            families.append(made)
            return made

        self._clusters(family)
        self._streams(family)
        self._accounts(family)
        self._alerts(family)
        dropped = GaugeMetricFamily(PREFIX + "metrics_series_dropped",
                                    "Series left out of a family beyond METRICS_MAX_SERIES", labels=["family"])
        for made in families:
            yield made.family()
            if made.dropped:
                dropped.add_metric([made.name], made.dropped)
        yield dropped

    # -- nodes and routes ---------------------------------------------------------------------

    def _clusters(self, family) -> None:
        clusters = list(selectors.visible_clusters(self.user).prefetch_related("nodes").order_by("name"))
        healthy = family("cluster_healthy", "1 when the cluster's last poll found it healthy", ["cluster", "status"])
        nodes_up = family("cluster_nodes_up", "Registered servers that answered the last poll", ["cluster"])
        nodes_total = family("cluster_nodes", "Registered servers", ["cluster"])
        polled = family("cluster_last_poll_timestamp_seconds", "When the cluster was last polled", ["cluster"])
        up = family("node_up", "1 when the server answered the last poll", ["cluster", "node"])
        node_families = [(family(name, documentation, ["cluster", "node"]), key, scale)
                         for name, key, documentation, scale in NODE_GAUGES]
        rtt = family("route_rtt_seconds", "Best round-trip time over the route connections between two servers",
                     ["cluster", "source", "target"])
        route_connections = family("route_connections", "Route connections between two servers (pooled)",
                                   ["cluster", "source", "target"])
        route_rate = family("route_msgs_per_second", "Messages per second over the route between two servers",
                            ["cluster", "source", "target"])
        for cluster in clusters:
            summary = cluster.summary or {}
            healthy.add((cluster.name, cluster.status), 1 if cluster.status == "healthy" else 0)
            nodes_up.add((cluster.name,), summary.get("nodes_up"))
            nodes_total.add((cluster.name,), summary.get("nodes_total"))
            if cluster.last_polled_at:
                polled.add((cluster.name,), cluster.last_polled_at.timestamp())
            for node in sorted(cluster.nodes.all(), key=lambda n: n.display_name):
                labels = (cluster.name, node.display_name)
                up.add(labels, 1 if node.status == "up" else 0)
                if node.status != "up":
                    continue  # figures of a down server are stale: leave them out
                figures = node.figures or {}
                for made, key, scale in node_families:
                    value = _number(figures.get(key))
                    made.add(labels, None if value is None else value * scale)
            edges = [e for e in (cluster.topology or {}).get("edges", []) if e.get("kind") == "route"]
            for edge in sorted(edges, key=lambda e: (e.get("source", ""), e.get("target", ""))):
                labels = (cluster.name, str(edge.get("source", "")), str(edge.get("target", "")))
                rtt_us = _number(edge.get("rtt_us"))
                rtt.add(labels, None if rtt_us is None else rtt_us / 1_000_000)
                route_connections.add(labels, edge.get("connections"))
                route_rate.add(labels, edge.get("msgs_per_s"))

    # -- streams and consumers ----------------------------------------------------------------

    def _streams(self, family) -> None:
        visible = {}
        for cluster_id, cluster_name, account in (selectors.visible_accounts(self.user)
                                                  .values_list("cluster_id", "cluster__name", "name")):
            visible[(cluster_id, account)] = cluster_name
        stream_families = [(family(name, documentation, ["cluster", "account", "stream"]), key)
                           for name, key, documentation in STREAM_GAUGES]
        consumer_labels = ["cluster", "account", "stream"] + (["consumer"] if self.consumer_labels else [])
        suffix = "" if self.consumer_labels else " (summed over the stream's consumers)"
        consumer_families = [(family(name, documentation + suffix, consumer_labels), key)
                             for name, key, documentation in CONSUMER_GAUGES]
        entries = sorted(((visible[(e.cluster_id, e.account)], e) for e in
                          AccountStreams.objects.filter(cluster_id__in=sorted({c for c, _ in visible}))
                          if (e.cluster_id, e.account) in visible), key=lambda pair: (pair[0], pair[1].account))
        for cluster_name, entry in entries:
            for text in entry.detail_json_rows():
                stream = json.loads(text)
                labels = (cluster_name, entry.account, stream.get("name", ""))
                for made, key in stream_families:
                    made.add(labels, stream.get(key))
                for consumer in sorted(stream.get("consumers") or [], key=lambda c: c.get("name", "")):
                    consumer_key = labels + ((consumer.get("name", ""),) if self.consumer_labels else ())
                    for made, key in consumer_families:
                        made.add(consumer_key, consumer.get(key))

    # -- accounts -----------------------------------------------------------------------------

    def _accounts(self, family) -> None:
        account_families = [(family(name, documentation, ["cluster", "account"]), key)
                            for name, key, documentation in ACCOUNT_GAUGES]
        jetstream_families = [(family(name, documentation, ["cluster", "account"]), key)
                              for name, key, documentation in ACCOUNT_JETSTREAM_GAUGES]
        for account in selectors.visible_accounts(self.user).select_related("cluster").order_by("cluster__name", "name"):
            labels = (account.cluster.name, account.name)
            figures = getattr(account, "figures", None) or {}
            for made, key in account_families:
                made.add(labels, figures.get(key))
            jetstream = getattr(account, "jetstream", None) or {}
            for made, key in jetstream_families:
                made.add(labels, jetstream.get(key))

    # -- alerts -------------------------------------------------------------------------------

    def _alerts(self, family) -> None:
        firing = family("alert_firing", "1 while an alert fires, 0 while it is pending",
                        ["cluster", "account", "check", "target", "severity"])
        if not apps.is_installed("alerts"):
            return
        from alerts import selectors as alert_selectors
        from alerts.models import AlertState

        alerts = (alert_selectors.visible_alerts(self.user)
                  .filter(state__in=[AlertState.PENDING, AlertState.FIRING]).select_related("cluster"))
        rows = []
        for alert in alerts:
            rows.append(((alert.cluster.name, alert.account or "", alert.check_name, alert.target or "",
                          str(alert.severity or "")), 1 if alert.state == AlertState.FIRING else 0))
        for labels, value in sorted(rows):
            if labels in firing.rows:  # one series per labels: firing wins over pending
                firing.rows[labels] = max(firing.rows[labels], value)
            else:
                firing.add(labels, value)
