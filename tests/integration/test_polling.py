"""Polling a real 3-node cluster: nodes, route edges, findings and events as the mesh changes."""

import threading
import time

import pytest
from django.db import connection

from clusters import polling, services
from clusters.models import Cluster, Event, NodeSample
from devstack.ports import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cluster(nats_cluster):
    cluster = services.register_cluster(name="lab", nats_urls=nats_cluster.client_urls,
                                        monitor_urls=nats_cluster.monitor_urls)
    yield cluster
    for index in range(nats_cluster.size):  # leave the module's cluster whole for the next test
        if index not in nats_cluster.alive_indexes():
            nats_cluster.restart_node(index)


def poll_until(cluster: Cluster, done, timeout: float) -> Cluster:
    deadline = time.monotonic() + timeout
    while True:
        polled = polling.poll_cluster(cluster.pk)
        if done(polled) or time.monotonic() > deadline:
            return polled
        time.sleep(0.5)


def route_edges(cluster: Cluster) -> set[tuple[str, str]]:
    return {(e["source"], e["target"]) for e in cluster.topology["edges"] if e["kind"] == "route"}


def test_healthy_cluster_has_three_nodes_three_route_edges_and_no_findings(cluster):
    polled = polling.poll_cluster(cluster.pk)
    assert polled.status == "healthy"
    assert [(n.server_name, n.status) for n in polled.nodes.order_by("server_name")] == [
        ("n1", "up"), ("n2", "up"), ("n3", "up")]
    assert route_edges(polled) == {("n1", "n2"), ("n1", "n3"), ("n2", "n3")}
    assert all(e["connections"] == e["expected_connections"] for e in polled.topology["edges"])
    assert polled.topology["findings"] == []
    assert polled.topology["meta_leader"] in {"n1", "n2", "n3"}
    assert polled.nats_cluster_name == "test"

    time.sleep(1.1)
    second = polling.poll_cluster(cluster.pk)
    figures = second.nodes.get(server_name="n1").figures
    assert figures["msgs_in_per_s"] is not None and figures["msgs_in_per_s"] >= 0
    assert NodeSample.objects.filter(node__cluster=cluster).count() == 6


def test_killed_node_is_down_with_a_finding_and_the_others_are_polled_normally(cluster, nats_cluster):
    polling.poll_cluster(cluster.pk)
    nats_cluster.kill_node(2)
    started = time.monotonic()
    polled = polling.poll_cluster(cluster.pk)
    assert time.monotonic() - started < 3.0  # a refused connection costs nothing like a timeout
    nodes = {n.monitor_url: n for n in polled.nodes.all()}
    dead = nodes[nats_cluster.monitor_urls[2]]
    assert dead.status == "down" and dead.server_name == "n3" and dead.error
    for url in nats_cluster.monitor_urls[:2]:
        assert nodes[url].status == "up" and nodes[url].error == ""
    assert polled.status == "degraded"
    assert route_edges(polled) == {("n1", "n2")}
    findings = polled.topology["findings"]
    assert {(f["severity"], f["kind"]) for f in findings} == {("critical", "node_down")}
    assert "n3" in findings[0]["message"]
    kinds = set(Event.objects.filter(cluster=cluster).values_list("kind", flat=True))
    assert {"node_down", "route_lost"} <= kinds

    nats_cluster.restart_node(2)
    polled = polling.poll_cluster(cluster.pk)
    assert polled.nodes.get(server_name="n3").status == "up"
    assert route_edges(polled) == {("n1", "n2"), ("n1", "n3"), ("n2", "n3")}
    # The meta leader may take a poll or two to see the restarted peer as current again.
    polled = poll_until(cluster, lambda c: c.status == "healthy", timeout=15)
    assert polled.topology["findings"] == []
    restarted = Event.objects.filter(cluster=cluster, kind="server_restarted").get()
    assert restarted.node.server_name == "n3" and "restarted" in restarted.message
    assert Event.objects.filter(cluster=cluster, kind="node_up").exists()


def test_unregistered_peer_is_seen_not_monitored(nats_cluster):
    cluster = services.register_cluster(name="partial", nats_urls=[], monitor_urls=nats_cluster.monitor_urls[:2])
    polled = polling.poll_cluster(cluster.pk)
    assert polled.topology["unmonitored_peers"] == ["n3"]
    assert any(f["kind"] == "unknown_peer" for f in polled.topology["findings"])


def test_a_dead_url_never_delays_the_live_nodes_beyond_its_timeout(nats_cluster, settings):
    settings.MONITOR_TIMEOUT = 1.0
    silent = _silent_server()
    cluster = services.register_cluster(
        name="slow", nats_urls=[], monitor_urls=[*nats_cluster.monitor_urls, f"http://127.0.0.1:{silent}"])
    started = time.monotonic()
    polled = polling.poll_cluster(cluster.pk)
    assert time.monotonic() - started < 1.0 + 1.5
    slow = polled.nodes.get(monitor_url=f"http://127.0.0.1:{silent}")
    assert slow.status == "down" and "timed out" in slow.error
    assert polled.nodes.filter(status="up").count() == 3


def test_two_polls_of_one_cluster_never_overlap(cluster):
    assert polling.take_lease(cluster.pk)
    try:
        assert polling.poll_cluster(cluster.pk) is None  # the other poll holds the lease
    finally:
        polling.release_lease(cluster.pk)
    assert polling.poll_cluster(cluster.pk) is not None


def test_concurrent_polls_record_one_sample_per_node(cluster):
    results = []

    def poll():
        results.append(polling.poll_cluster(cluster.pk))
        connection.close()

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = [r for r in results if r is not None]
    assert len(done) >= 1
    assert NodeSample.objects.filter(node__cluster=cluster).count() == 3 * len(done)


def test_poll_command_prints_one_line_per_node(cluster, nats_cluster):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("poll", "--cluster", "lab", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("lab: healthy")
    assert [line.split()[0] for line in lines[1:4]] == ["n1", "n2", "n3"]
    assert all(" up " in line for line in lines[1:4])


def _silent_server() -> int:
    """A TCP server that accepts and never answers: a hung monitoring port."""
    import socket

    port = free_port()
    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    threading.Thread(target=lambda: [listener.accept() for _ in range(16)], daemon=True).start()
    return port


