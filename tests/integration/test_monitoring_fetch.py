"""fetch_nodes against a real NATS cluster and against local HTTP servers that misbehave."""

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from clusters.monitoring import (
    MonitoringError,
    fetch_account_detail,
    fetch_node,
    fetch_nodes,
    streams_by_leader,
)
from devstack.ports import free_port
from tests.support.fleet import publish_when_ready

TIMEOUT = 1.5


# -- local HTTP servers that misbehave -------------------------------------------------------


@contextmanager
def http_server(respond: Callable[[BaseHTTPRequestHandler, threading.Event], None]) -> Iterator[str]:
    """A real HTTP server on a free 127.0.0.1 port, in a thread; `respond` answers every GET.
    The event is set on the way out, so handlers that sleep can stop early."""
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            try:
                respond(self, stop)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first, as it should

        def log_message(self, format, *args):  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = "application/json"):
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def sleeps_then_answers(handler, stop):
    stop.wait(TIMEOUT + 8)  # far longer than the timeout
    send(handler, 200, b'{"server_id": "SLOW", "server_name": "slow"}')


def trickles(handler, stop):
    """Headers at once, then one byte every 0.2s: no single read ever waits for the timeout."""
    body = b'{"server_name": "trickle", "padding": "' + b"x" * 60 + b'"}'
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.flush()
    for byte in body:
        if stop.wait(0.2):
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


def fails_with_500(handler, stop):
    send(handler, 500, b"internal error", "text/plain")


def answers_html(handler, stop):
    send(handler, 200, b"<html><body>not the monitoring port</body></html>", "text/html")


def answers_a_json_list(handler, stop):
    send(handler, 200, b"[1, 2, 3]")


def varz_only(handler, stop):
    """A node whose /varz works while /jsz fails: up, with the failure noted."""
    if handler.path.startswith("/varz"):
        send(handler, 200, b'{"server_id": "NPARTIAL", "server_name": "partial", "routes": 0}')
    elif handler.path.startswith("/jsz"):
        send(handler, 500, b"jsz broke", "text/plain")
    else:
        send(handler, 200, b"{}")


# -- a real cluster ------------------------------------------------------------------------------


async def test_fetch_nodes_reads_every_node_of_a_real_cluster(nats_cluster):
    names = nats_cluster.node_names

    snapshots = await fetch_nodes(nats_cluster.monitor_urls, timeout=5)

    assert [s.monitor_url for s in snapshots] == nats_cluster.monitor_urls
    assert [s.server_name for s in snapshots] == names
    leaders = set()
    for snapshot in snapshots:
        assert snapshot.up, snapshot.error
        assert snapshot.error == "" and snapshot.partial_errors == ()
        assert snapshot.varz.cluster_name == "test"
        assert snapshot.varz.jetstream_enabled
        assert snapshot.varz.remotes == 2
        assert {route.peer for route in snapshot.routes} == set(names) - {snapshot.server_name}
        assert len(snapshot.routes) == snapshot.varz.routes
        assert all(route.rtt_us is not None for route in snapshot.routes)
        assert snapshot.healthz is not None and snapshot.healthz.ok
        assert snapshot.jsz is not None and snapshot.jsz.enabled
        assert snapshot.jsz.meta.cluster_size == 3
        leaders.add(snapshot.jsz.meta.leader)
        assert snapshot.elapsed_ms < 5000
    assert len(leaders) == 1 and leaders <= set(names)


async def _place_consumer_leader_away_from_stream_leader(js, nc, stream: str, durable: str) -> str:
    """Step the consumer's leader down until another node than the stream's leads it."""
    for _ in range(30):
        stream_leader = (await js.stream_info(stream)).cluster.leader
        leader = (await js.consumer_info(stream, durable)).cluster.leader
        if leader and leader != stream_leader:
            return leader
        await nc.request(f"$JS.API.CONSUMER.LEADER.STEPDOWN.{stream}.{durable}", b"", timeout=5)
        for _ in range(100):
            await asyncio.sleep(0.1)
            try:
                new_leader = (await js.consumer_info(stream, durable)).cluster.leader
            except Exception:  # no leader while an election runs
                continue
            if new_leader and new_leader != leader:
                break
    pytest.fail("could not move the consumer's leader away from the stream's")


async def test_consumer_figures_match_the_jetstream_api_even_when_led_apart(nats_cluster):
    """num_pending is right only on the consumer's own leader: the fetch must bring that report."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

    account = nats_cluster.account("TEAM_A")
    nc = await asyncio.wait_for(nats.connect(servers=nats_cluster.client_urls, user=account.user,
                                             password=account.password, connect_timeout=5,
                                             max_reconnect_attempts=3), timeout=20)
    try:
        js = nc.jetstream(timeout=10)
        await js.add_stream(StreamConfig(name="FETCHED", subjects=["fetched.>"], num_replicas=3))
        for number in range(12):
            await publish_when_ready(js, f"fetched.{number}", b"x")
        await js.add_consumer("FETCHED", ConsumerConfig(durable_name="backlog", ack_policy=AckPolicy.EXPLICIT))
        consumer_leader = await _place_consumer_leader_away_from_stream_leader(js, nc, "FETCHED", "backlog")
        expected = await js.consumer_info("FETCHED", "backlog")
        assert expected.num_pending == 12

        deadline = time.monotonic() + 15
        while True:
            snapshots = await fetch_nodes(nats_cluster.monitor_urls, timeout=5)
            merged = {(s.account, s.name): s for s in streams_by_leader(snapshots)}
            stream = merged.get(("TEAM_A", "FETCHED"))
            consumer = next((c for c in stream.consumers if c.name == "backlog"), None) if stream else None
            if (consumer is not None and consumer.num_pending == expected.num_pending) \
                    or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert stream is not None and stream.messages == 12 and stream.num_replicas == 3
        assert consumer is not None
        assert consumer.leader == consumer_leader != stream.leader
        assert consumer.num_pending == expected.num_pending
    finally:
        try:
            await js.delete_stream("FETCHED")
        finally:
            await nc.close()


# -- failures ---------------------------------------------------------------------------------------


async def test_nothing_listening_gives_a_down_snapshot_with_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}"

    started = time.monotonic()
    [snapshot] = await fetch_nodes([url], timeout=TIMEOUT)

    assert time.monotonic() - started < TIMEOUT + 2
    assert not snapshot.up
    assert snapshot.varz is None and snapshot.server_name == ""
    assert snapshot.monitor_url == url
    assert "ConnectError" in snapshot.error


async def test_a_slow_node_times_out_while_the_real_nodes_answer(nats_cluster):
    with http_server(sleeps_then_answers) as slow_url:
        urls = [*nats_cluster.monitor_urls[:2], slow_url, nats_cluster.monitor_urls[2]]

        started = time.monotonic()
        snapshots = await fetch_nodes(urls, timeout=TIMEOUT)
        elapsed = time.monotonic() - started

    assert elapsed < TIMEOUT + 2
    assert [s.monitor_url for s in snapshots] == urls
    slow = snapshots[2]
    assert not slow.up
    assert slow.error == f"timed out after {TIMEOUT:g}s"
    real = [snapshots[0], snapshots[1], snapshots[3]]
    assert [s.server_name for s in real] == nats_cluster.node_names
    for snapshot in real:
        assert snapshot.up and snapshot.error == ""
        assert len(snapshot.routes) > 0 and snapshot.jsz is not None and snapshot.jsz.enabled


async def test_a_trickling_node_costs_no_more_than_the_timeout():
    with http_server(trickles) as url:
        started = time.monotonic()
        [snapshot] = await fetch_nodes([url], timeout=TIMEOUT)
        elapsed = time.monotonic() - started

    assert elapsed < TIMEOUT + 2
    assert not snapshot.up
    assert snapshot.error == f"timed out after {TIMEOUT:g}s"


@pytest.mark.parametrize("respond, error", [
    (fails_with_500, "HTTP 500 Internal Server Error"),
    (answers_html, "response is not JSON"),
    (answers_a_json_list, "response is not a JSON object"),
], ids=["http-500", "html", "json-list"])
async def test_a_broken_answer_gives_a_down_snapshot_with_a_clear_error(respond, error):
    with http_server(respond) as url:
        [snapshot] = await fetch_nodes([url], timeout=TIMEOUT)

    assert not snapshot.up
    assert snapshot.error == error


async def test_a_failing_endpoint_leaves_the_node_up_and_is_reported():
    with http_server(varz_only) as url:
        async with httpx.AsyncClient() as client:
            snapshot = await fetch_node(client, url, timeout=TIMEOUT)

    assert snapshot.up and snapshot.server_name == "partial"
    assert snapshot.jsz is None
    assert dict(snapshot.partial_errors) == {"jsz": "HTTP 500 Internal Server Error"}
    assert snapshot.healthz is not None and snapshot.healthz.ok


async def test_account_detail_asks_every_node_at_once_within_one_timeout(nats_cluster):
    """Slow nodes ahead of a real one cost nothing: the first answer wins. With none answering,
    the whole read costs one timeout, not one per node."""
    with http_server(sleeps_then_answers) as slow_a, http_server(sleeps_then_answers) as slow_b, \
            http_server(sleeps_then_answers) as slow_c:
        started = time.monotonic()
        detail = await fetch_account_detail([slow_a, slow_b, slow_c, nats_cluster.monitor_urls[0]],
                                            account="TEAM_A", timeout=TIMEOUT)
        answered = time.monotonic() - started
        assert detail is not None and detail.account == "TEAM_A"
        assert answered < TIMEOUT

        started = time.monotonic()
        with pytest.raises(MonitoringError) as raised:
            await fetch_account_detail([slow_a, slow_b, slow_c], account="TEAM_A", timeout=TIMEOUT)
        failed = time.monotonic() - started
    assert failed < 2 * TIMEOUT  # one after the other: 3 x TIMEOUT
    assert all(f"{url}: timed out after {TIMEOUT:g}s" in str(raised.value) for url in (slow_a, slow_b, slow_c))
