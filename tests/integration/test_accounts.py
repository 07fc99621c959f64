"""Account pages and API on a real 3-node cluster with two team accounts: connections opened by
the test's own clients show under the right account with the right figures, and JetStream usage
equals what the JetStream API says."""

import asyncio
import threading
import time

import nats
import pytest
from django.test import Client
from nats.js.api import ConsumerConfig, StreamConfig

from accounts import services as account_services
from clusters import polling
from clusters.models import Account
from tests.support.fleet import delete_all_streams, publish_when_ready, register_fleet, run_nats

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fleet(nats_cluster, make_user):
    cluster, accounts, users = register_fleet(nats_cluster, make_user)
    yield cluster, accounts, users
    delete_all_streams(nats_cluster)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class Clients:
    """The test's own nats-py connections, kept open on an event loop in a thread while the
    dashboard looks at them."""

    def __init__(self, nats_cluster):
        self.nats_cluster = nats_cluster
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.connections = []

    def run(self, coroutine, timeout=30):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def connect(self, account_name: str, name: str, server_index: int):
        account = self.nats_cluster.account(account_name)

        async def connect():
            return await nats.connect(self.nats_cluster.client_urls[server_index], user=account.user,
                                      password=account.password, name=name, connect_timeout=3,
                                      allow_reconnect=False, max_reconnect_attempts=0)

        nc = self.run(connect())
        self.connections.append(nc)
        return nc

    def close(self):
        for nc in self.connections:
            self.run(nc.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def clients(nats_cluster):
    opened = Clients(nats_cluster)
    yield opened
    opened.close()


def wait_for(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def figures_of(account_name: str) -> dict:
    return Account.objects.get(name=account_name).figures


def test_connections_show_under_their_account_with_their_figures(fleet, nats_cluster, clients):
    cluster, accounts, users = fleet
    polling.poll_cluster(cluster.pk)
    before = {name: figures_of(name) for name in ("TEAM_A", "TEAM_B")}

    publisher = clients.connect("TEAM_A", "orders-api", 0)
    worker = clients.connect("TEAM_A", "orders-worker", 1)
    sensor = clients.connect("TEAM_B", "sensor", 2)
    received = []

    async def subscribe():
        async def on_message(message):
            received.append(message.data)

        await worker.subscribe("orders.>", cb=on_message)
        await worker.subscribe("audit.trail", cb=on_message)
        await worker.flush()

    async def publish():
        for number in range(7):
            await publisher.publish("orders.new", b"order-%d" % number)
        await publisher.flush()
        for _ in range(3):
            await sensor.publish("sensors.t", b"21C")
        await sensor.flush()

    clients.run(subscribe())
    # The worker's interest has to reach n1 over the route before orders-api publishes: probe on
    # the worker's second subject (interest travels in order) until one arrives, counting them.
    probes = 0

    async def probe():
        nonlocal probes
        probes += 1
        await publisher.publish("audit.trail", b"probe")
        await publisher.flush()

    wait_for(lambda: clients.run(probe()) or received, what="the worker's interest on n1")
    clients.run(publish())
    # A probe still in flight may land after the orders: a last message on the probe subject,
    # delivered in order after them, marks the point where everything sent has arrived.
    async def mark_the_end():
        await publisher.publish("audit.trail", b"end")
        await publisher.flush()

    clients.run(mark_the_end())
    wait_for(lambda: b"end" in received, what="the worker to receive the orders and the end mark")
    assert sum(data.startswith(b"order-") for data in received) == 7
    sent = 7 + probes + 1
    delivered = len(received)
    delivered_bytes = sum(len(data) for data in received)
    polling.poll_cluster(cluster.pk)

    root = client_for(users["root"])
    answer = root.get("/api/clusters/lab/accounts/TEAM_A/")
    assert answer.status_code == 200, answer.content
    page = answer.json()
    by_name = {c["name"]: c for c in page["connections"]}
    assert {"orders-api", "orders-worker"} <= set(by_name) and "sensor" not in by_name
    api, sub = by_name["orders-api"], by_name["orders-worker"]
    assert (api["msgs_out"], api["msgs_in"], api["subscriptions"]) == (sent, 0, 0)
    assert (sub["msgs_in"], sub["msgs_out"], sub["subscriptions"]) == (delivered, 0, 2)
    assert sub["bytes_in"] == delivered_bytes
    assert (api["server"], sub["server"]) == ("n1", "n2")
    assert api["lang"] == "python3" and api["version"] and api["ip"] == "127.0.0.1"
    assert sub["rtt"] and sub["rtt_us"] > 0 and sub["uptime"]
    totals = page["connection_totals"]
    assert totals["connections"] == len(page["connections"])
    assert totals["msgs_out"] == sum(c["msgs_out"] for c in page["connections"])

    team_b = root.get("/api/clusters/lab/accounts/TEAM_B/").json()
    sensor_row = next(c for c in team_b["connections"] if c["name"] == "sensor")
    assert (sensor_row["msgs_out"], sensor_row["server"]) == (3, "n3")
    assert not {"orders-api", "orders-worker"} & {c["name"] for c in team_b["connections"]}

    # The poll's per-account figures, from the nodes' /accstatz: clients' view, summed over nodes.
    after = {name: figures_of(name) for name in ("TEAM_A", "TEAM_B")}
    assert after["TEAM_A"]["connections"] == 2 and after["TEAM_B"]["connections"] == 1
    assert after["TEAM_A"]["msgs_out"] - before["TEAM_A"]["msgs_out"] == sent
    assert after["TEAM_A"]["msgs_in"] - before["TEAM_A"]["msgs_in"] == delivered
    assert after["TEAM_B"]["msgs_out"] - before["TEAM_B"]["msgs_out"] == 3
    assert after["TEAM_B"]["msgs_in"] - before["TEAM_B"]["msgs_in"] == 0
    assert after["TEAM_A"]["subscriptions"] >= before["TEAM_A"]["subscriptions"] + 2
    assert after["TEAM_A"]["msgs_out_per_s"] > 0 and after["TEAM_B"]["msgs_in_per_s"] == 0
    assert page["figures"]["connections"] == 2 and "nodes" not in page["figures"]

    # The page shows the same, sortable and filterable in the browser.
    html = root.get("/clusters/lab/accounts/TEAM_A/").content.decode()
    assert 'data-name="orders-worker"' in html and f'data-msgs_in="{delivered}"' in html
    assert 'data-name="sensor"' not in html
    assert 'id="connections-filter"' in html and "js/account.js" in html


def test_jetstream_usage_equals_the_jetstream_api(fleet, nats_cluster):
    cluster, accounts, users = fleet

    async def build(nc, js):
        await js.add_stream(StreamConfig(name="ORDERS", subjects=["orders.>"], num_replicas=3))
        for number in range(20):
            await publish_when_ready(js, f"orders.{number % 4}", b"x" * 100)
        await js.add_stream(StreamConfig(name="CACHE", subjects=["cache.>"], storage="memory", num_replicas=1))
        await publish_when_ready(js, "cache.a", b"y" * 500)
        await js.add_consumer("ORDERS", ConsumerConfig(durable_name="fulfilment"))

    run_nats(nats_cluster, "TEAM_A", build)
    polling.poll_cluster(cluster.pk)

    async def account_info(nc, js):
        info = await js.account_info()
        return {"memory": info.memory, "storage": info.storage, "streams": info.streams,
                "consumers": info.consumers, "limits": {
                    "max_memory": info.limits.max_memory, "max_storage": info.limits.max_storage,
                    "max_streams": info.limits.max_streams, "max_consumers": info.limits.max_consumers}}

    # Each server learns the others' usage from periodic updates, and the servers can agree on a
    # total that still lacks some replicas: wait until every server answers the same, with the
    # memory stream's bytes, and keeps answering it for two seconds, before comparing.
    answers, agreed = [], {"answer": None, "since": 0.0}

    def settled() -> bool:
        answers[:] = [run_nats(nats_cluster, "TEAM_A", account_info, server_index=i) for i in range(3)]
        if not (answers[0]["memory"] > 0 and all(answer == answers[0] for answer in answers)):
            agreed["answer"] = None
            return False
        if answers[0] != agreed["answer"]:
            agreed.update(answer=answers[0], since=time.monotonic())
        return time.monotonic() - agreed["since"] >= 2.0

    wait_for(settled, timeout=60, what="the servers to agree on the account's usage")
    expected = answers[0]
    assert expected["streams"] == 2 and expected["consumers"] == 1
    assert expected["storage"] >= 20 * 100 and expected["memory"] >= 500

    operator = client_for(users["operator"])
    page = operator.get("/api/clusters/lab/accounts/TEAM_A/").json()
    usage = {key: page["jetstream"][key] for key in ("memory", "storage", "streams", "consumers", "limits")}
    assert usage == expected
    assert page["jetstream"]["error"] == "" and page["jetstream"]["at"]
    assert Account.objects.get(name="TEAM_A").jetstream == expected  # stored for alert checks
    rows = {row["kind"]: row for row in page["jetstream"]["usage"]}
    assert rows["storage"]["used"] == expected["storage"] and rows["storage"]["limit"] is None  # unlimited
    assert {s["name"] for s in page["streams"]} == {"ORDERS", "CACHE"}
    orders = next(s for s in page["streams"] if s["name"] == "ORDERS")
    assert [c["name"] for c in orders["consumers"]] == ["fulfilment"]
    assert orders["consumers"][0]["num_pending"] == 20
    assert any(i["local_subject"] == "$JS.API.>" for i in page["imports"])

    html = operator.get("/clusters/lab/accounts/TEAM_A/").content.decode()
    assert 'id="jetstream-usage"' in html and 'role="meter"' in html and "fulfilment" in html

    # The beat task's refresh stores the same; then, with NATS unreachable, the page keeps the
    # stored usage and says why it is not fresh.
    Account.objects.filter(name="TEAM_A").update(jetstream={})
    assert account_services.refresh_cluster_accounts(cluster_id=cluster.pk) == 2  # TEAM_A and TEAM_B
    assert Account.objects.get(name="TEAM_A").jetstream == expected
    cluster.nats_urls = ["nats://127.0.0.1:1"]
    cluster.save()
    page = operator.get("/api/clusters/lab/accounts/TEAM_A/").json()
    assert page["jetstream"]["error"] and page["jetstream"]["storage"] == expected["storage"]
    html = operator.get("/clusters/lab/accounts/TEAM_A/").content.decode()
    assert "Not refreshed:" in html and "ago" in html


def test_members_see_only_their_teams_accounts(fleet, nats_cluster):
    cluster, accounts, users = fleet
    polling.poll_cluster(cluster.pk)
    viewer = client_for(users["viewer"])  # team-a, viewer

    listing = viewer.get("/api/clusters/lab/accounts/")
    assert listing.status_code == 200
    assert [(a["name"], a["role"]) for a in listing.json()["accounts"]] == [("TEAM_A", "viewer")]
    for path in ("/api/clusters/lab/accounts/TEAM_B/", "/api/clusters/lab/accounts/SYS/",
                 "/clusters/lab/accounts/TEAM_B/", "/api/clusters/nope/accounts/", "/accounts/"):
        assert viewer.get(path).status_code == 404, path
    assert viewer.get("/clusters/lab/accounts/TEAM_A/").status_code == 200

    home = viewer.get("/").content.decode()
    assert "Your accounts" in home and 'data-account="TEAM_A"' in home and 'data-account="TEAM_B"' not in home

    root = client_for(users["root"])
    names = [a["name"] for a in root.get("/api/clusters/lab/accounts/").json()["accounts"]]
    assert names == ["SYS", "TEAM_A", "TEAM_B"]
    overview = root.get("/accounts/").content.decode()
    assert all(f'data-account="{name}"' in overview for name in names)
    assert "Your accounts" not in root.get("/").content.decode()
    system = root.get("/api/clusters/lab/accounts/SYS/").json()  # no JetStream of its own: not asked
    assert system["is_system"] and system["jetstream"]["error"] == ""
    cluster_page = root.get("/clusters/lab/").content.decode()
    assert 'href="/clusters/lab/accounts/TEAM_B/"' in cluster_page
    assert Client().get("/api/clusters/lab/accounts/").status_code == 401


def test_beat_task_refreshes_every_accounts_jetstream_usage_in_a_worker(fleet, nats_cluster, celery_worker):
    from clusters import tasks

    cluster, accounts, users = fleet
    assert tasks.refresh_accounts.apply().get() == 1  # beat's tick; the refresh runs in the worker

    def refreshed() -> bool:
        return all(a.jetstream_at is not None for a in Account.objects.filter(cluster=cluster, is_system=False))

    wait_for(refreshed, timeout=60, what="the worker's refresh")
    team_a = Account.objects.get(cluster=cluster, name="TEAM_A")
    assert set(team_a.jetstream) == {"memory", "storage", "streams", "consumers", "limits"}
    assert team_a.jetstream["limits"]["max_streams"] == -1 and team_a.jetstream_error == ""
    assert Account.objects.get(cluster=cluster, name="SYS").jetstream_at is None  # not asked


def test_home_judges_stalled_consumers_from_aggregated_samples_of_pending_consumers_only(fleet, nats_cluster):
    """The home page reads one aggregated row per consumer with a backlog, not every sample of
    every consumer of the window."""
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts import selectors as account_selectors
    from clusters.models import ConsumerSample

    cluster, accounts, users = fleet

    async def build(nc, js):
        await js.add_stream(StreamConfig(name="ORDERS", subjects=["orders.>"], num_replicas=1))
        for number in range(5):
            await publish_when_ready(js, "orders.new", b"order-%d" % number)
        await js.add_consumer("ORDERS", ConsumerConfig(durable_name="stuck"))  # never fetches: stalled
        await js.add_consumer("ORDERS", ConsumerConfig(durable_name="idle", deliver_policy="new"))

    run_nats(nats_cluster, "TEAM_A", build)
    polling.poll_cluster(cluster.pk)
    latest = {row.consumer: row for row in ConsumerSample.objects.filter(cluster=cluster, account="TEAM_A")}
    assert latest["stuck"].num_pending == 5 and latest["idle"].num_pending == 0
    # Ten minutes of earlier polls that saw the same (a poll every 5 s).
    ConsumerSample.objects.bulk_create([
        ConsumerSample(cluster=cluster, account="TEAM_A", stream="ORDERS", consumer=row.consumer,
                       at=row.at - timedelta(seconds=5 * step), num_pending=row.num_pending,
                       num_ack_pending=0, num_redelivered=0, ack_floor_stream_seq=row.ack_floor_stream_seq)
        for row in latest.values() for step in range(1, 121)])

    streams = account_selectors.account_streams(users["viewer"], accounts["TEAM_A"])
    assert account_selectors.pending_consumers(streams) == {("ORDERS", "stuck")}
    ends = account_selectors.consumer_sample_ends(accounts["TEAM_A"], 300, {("ORDERS", "stuck")})
    assert list(ends) == [("ORDERS", "stuck")] and len(ends[("ORDERS", "stuck")]) == 2

    viewer = client_for(users["viewer"])
    with CaptureQueriesContext(connection) as queries:
        home = viewer.get("/")
    assert home.status_code == 200
    html = home.content.decode()
    assert "ORDERS › stuck is stalled" in html and "ORDERS › idle" not in html
    sample_reads = [q["sql"] for q in queries.captured_queries if "consumersample" in q["sql"].lower()]
    assert sample_reads and all("GROUP BY" in sql.upper() for sql in sample_reads)

    # The account page keeps the full series (one account): the same judgement.
    page = viewer.get("/api/clusters/lab/accounts/TEAM_A/").json()
    assert [(i["kind"], i["consumer"]) for i in page["attention"]] == [("stalled", "stuck")]


def test_account_list_reads_the_roles_in_one_query(fleet, nats_cluster):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clusters.models import Membership, Role, Team, TeamGrant

    cluster, accounts, users = fleet
    operator = users["operator"]  # operator on TEAM_A through team-a

    def listing():
        with CaptureQueriesContext(connection) as queries:
            answer = client_for(operator).get("/api/clusters/lab/accounts/")
        assert answer.status_code == 200
        return {a["name"]: a["role"] for a in answer.json()["accounts"]}, len(queries)

    roles, few = listing()
    assert roles == {"TEAM_A": "operator"}
    viewers = Team.objects.create(name="watchers")
    Membership.objects.create(team=viewers, user=operator, role=Role.VIEWER)
    for name in ("TEAM_A", "TEAM_B", "EXTRA_1", "EXTRA_2", "EXTRA_3"):
        account = accounts.get(name) or Account.objects.create(cluster=cluster, name=name)
        TeamGrant.objects.create(team=viewers, account=account)
    roles, many = listing()
    # The strongest role wins where two teams grant the same account.
    assert roles == {"TEAM_A": "operator", "TEAM_B": "viewer", "EXTRA_1": "viewer", "EXTRA_2": "viewer",
                     "EXTRA_3": "viewer"}
    assert many == few


def test_reading_the_account_page_writes_nothing_until_the_service_keeps_the_usage(fleet, nats_cluster):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts import selectors as account_selectors

    cluster, _, _ = fleet
    team_a = Account.objects.select_related("cluster").get(cluster=cluster, name="TEAM_A")
    with CaptureQueriesContext(connection) as queries:
        live = account_selectors.read_live(team_a)
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
    assert writes == []
    assert live.jetstream_read and live.jetstream is not None and live.jetstream_error == ""
    assert Account.objects.get(pk=team_a.pk).jetstream_at is None

    account_services.keep_live_jetstream(account=team_a, live=live)
    stored = Account.objects.get(pk=team_a.pk)
    assert stored.jetstream == live.jetstream.as_dict() and stored.jetstream_at is not None

    system = Account.objects.select_related("cluster").get(cluster=cluster, name="SYS")
    live = account_selectors.read_live(system)
    assert not live.jetstream_read  # the system account has no JetStream of its own: not asked
    account_services.keep_live_jetstream(account=system, live=live)
    assert Account.objects.get(pk=system.pk).jetstream_at is None
