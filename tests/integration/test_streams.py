"""JetStream against a real 3-node cluster: consumer figures, purge modes, publish, permissions, bad input."""

import json

import pytest
from django.test import Client
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from clusters import polling
from streams.models import AuditEntry
from tests.support.fleet import delete_all_streams, fetch_when_led, publish_when_ready, register_fleet, run_nats

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fleet(nats_cluster, make_user):
    cluster, accounts, users = register_fleet(nats_cluster, make_user)
    yield cluster, accounts, users
    delete_all_streams(nats_cluster, accounts=("TEAM_A",))


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_json(client: Client, path: str, body=None):
    return client.post(path, data=json.dumps(body or {}), content_type="application/json")


def make_stream(nats_cluster, name="ORDERS", subjects=("orders.>",), replicas=3, messages=()):
    async def work(nc, js):
        await js.add_stream(StreamConfig(name=name, subjects=list(subjects), num_replicas=replicas))
        for subject, body in messages:
            await publish_when_ready(js, subject, body)

    run_nats(nats_cluster, "TEAM_A", work)


def stream_state(nats_cluster, name="ORDERS") -> dict:
    async def work(nc, js):
        info = await js.stream_info(name, subjects_filter=">")
        return {"messages": info.state.messages, "first_seq": info.state.first_seq,
                "subjects": dict(info.state.subjects or {})}

    return run_nats(nats_cluster, "TEAM_A", work)


@pytest.mark.parametrize("first_node", ["leader", "follower"])
def test_consumer_figures_equal_the_jetstream_api(fleet, nats_cluster, first_node):
    cluster, accounts, users = fleet
    make_stream(nats_cluster, messages=[(f"orders.{i % 3}", b"x") for i in range(30)])

    async def consume(nc, js):
        await js.add_consumer("ORDERS", ConsumerConfig(durable_name="worker", ack_policy=AckPolicy.EXPLICIT,
                                                       ack_wait=60, max_deliver=5))
        sub = await js.pull_subscribe_bind(durable="worker", stream="ORDERS")
        batch = await fetch_when_led(sub, 10)
        for message in batch[:6]:
            await message.ack_sync()
        for message in batch[6:8]:
            await message.nak()  # redelivered on the next fetch
        await fetch_when_led(sub, 2)  # the two nak'ed ones again: delivered, unacked, redelivered
        info = await js.consumer_info("ORDERS", "worker")
        stream = await js.stream_info("ORDERS")
        return info, stream.cluster.leader

    info, leader = run_nats(nats_cluster, "TEAM_A", consume)
    urls = list(nats_cluster.monitor_urls)
    leader_url = urls[nats_cluster.node_names.index(leader)]
    others = [u for u in urls if u != leader_url]
    order = [leader_url, *others] if first_node == "leader" else [*others, leader_url]
    cluster.nodes.all().delete()
    for url in order:
        cluster.nodes.create(monitor_url=url)

    polling.poll_cluster(cluster.pk)
    body = client_for(users["viewer"]).get("/api/clusters/lab/streams").json()
    [orders] = [s for s in body["streams"] if s["name"] == "ORDERS"]
    [worker] = orders["consumers"]
    assert orders["messages"] == 30 and orders["leader"] == leader
    assert (worker["num_pending"], worker["num_ack_pending"], worker["num_redelivered"]) == (
        info.num_pending, info.num_ack_pending, info.num_redelivered)
    # Some acked, some delivered and unacked: the figures compared above are not all zero.
    assert info.num_pending >= 18 and info.num_ack_pending >= 2 and info.ack_floor.stream_seq >= 6
    assert body["polled_at"]


PURGES = {
    "whole stream": ({}, lambda s: {}),
    "by subject": ({"subject": "orders.a"}, lambda s: {k: v for k, v in s.items() if k != "orders.a"}),
    "wildcard subject": ({"subject": "orders.*"}, lambda s: {}),
    "keep the last 2": ({"keep": 2}, None),
    "subject, keep 1": ({"subject": "orders.b", "keep": 1}, lambda s: {**s, "orders.b": 1}),
    "below sequence 5": ({"seq": 5}, None),
    "subject below sequence 7": ({"subject": "orders.a", "seq": 7}, None),
}


@pytest.mark.parametrize("case", PURGES)
def test_every_purge_mode_removes_what_its_preview_said(fleet, nats_cluster, case):
    cluster, accounts, users = fleet
    subjects = ["orders.a", "orders.b", "orders.a", "orders.c", "orders.b", "orders.a", "orders.b", "orders.a",
                "orders.c", "orders.b"]
    make_stream(nats_cluster, messages=[(s, f"{i}".encode()) for i, s in enumerate(subjects, start=1)])
    polling.poll_cluster(cluster.pk)
    body, expect_subjects = PURGES[case]
    before = stream_state(nats_cluster)
    operator = client_for(users["operator"])

    preview = operator.get("/clusters/lab/accounts/TEAM_A/streams/ORDERS/purge/",
                           {"preview": "1", **{k: str(v) for k, v in body.items()}}).context["preview"]
    response = post_json(operator, "/api/clusters/lab/accounts/TEAM_A/streams/ORDERS/purge", body)
    assert response.status_code == 200, response.content
    purged = response.json()["purged"]
    after = stream_state(nats_cluster)

    assert preview["total"] == purged
    assert before["messages"] - after["messages"] == purged
    if "subject" in body and preview["per_subject"]:
        assert sum(preview["per_subject"].values()) == purged
    if expect_subjects is not None:
        assert after["subjects"] == expect_subjects(before["subjects"])
    if case == "keep the last 2":
        assert after["messages"] == 2 and after["first_seq"] == 9
    if case == "below sequence 5":
        assert after["first_seq"] == 5 and purged == 4
    if case == "subject below sequence 7":
        assert purged == 3  # orders.a at 1, 3, 6
        assert after["subjects"]["orders.a"] == 1
    entry = AuditEntry.objects.get(action="purge")
    assert entry.outcome == "ok" and entry.result == {"purged": purged} and entry.username == "olga"


def test_published_message_arrives_with_its_headers(fleet, nats_cluster):
    cluster, accounts, users = fleet
    make_stream(nats_cluster)
    response = post_json(client_for(users["operator"]), "/api/clusters/lab/accounts/TEAM_A/publish",
                         {"subject": "orders.created", "data": '{"id": 7}', "headers": {"trace-id": "abc123"}})
    assert response.status_code == 200, response.content
    assert response.json()["stream"] == "ORDERS" and response.json()["seq"] == 1

    async def read(nc, js):
        return await js.get_msg("ORDERS", 1)

    stored = run_nats(nats_cluster, "TEAM_A", read)
    assert stored.data == b'{"id": 7}'
    assert stored.headers["trace-id"] == "abc123"
    page = client_for(users["viewer"]).get("/clusters/lab/accounts/TEAM_A/streams/ORDERS/messages/", {"seq": 1})
    text = page.content.decode()
    assert "trace-id" in text and "abc123" in text and "&quot;id&quot;: 7" in text
    entry = AuditEntry.objects.get(action="publish")
    assert entry.parameters["payload_preview"] == '{"id": 7}' and entry.result["seq"] == 1


def test_core_publish_and_request_without_a_stream(fleet, nats_cluster):
    cluster, accounts, users = fleet
    operator = client_for(users["operator"])
    plain = post_json(operator, "/api/clusters/lab/accounts/TEAM_A/publish", {"subject": "telemetry.x", "data": "hi"})
    assert plain.status_code == 200 and plain.json()["stream"] is None
    nobody = post_json(operator, "/api/clusters/lab/accounts/TEAM_A/publish",
                       {"subject": "svc.echo", "data": "hi", "request": True, "timeout": 1})
    assert nobody.status_code == 502 and "no responders" in nobody.json()["error"]


def test_a_viewer_gets_403_on_every_action_and_nothing_changes(fleet, nats_cluster):
    cluster, accounts, users = fleet
    make_stream(nats_cluster, messages=[("orders.a", b"1"), ("orders.b", b"2")])
    polling.poll_cluster(cluster.pk)
    viewer = client_for(users["viewer"])
    before = stream_state(nats_cluster)
    api = [
        ("/api/clusters/lab/accounts/TEAM_A/streams/ORDERS/purge", {}),
        ("/api/clusters/lab/accounts/TEAM_A/publish", {"subject": "orders.c", "data": "x"}),
        ("/api/clusters/lab/accounts/TEAM_A/streams/ORDERS/messages/1/delete", {}),
    ]
    for path, body in api:
        response = post_json(viewer, path, body)
        assert response.status_code == 403, path
        assert "operator" in response.json()["error"]
    pages = [
        ("/clusters/lab/accounts/TEAM_A/streams/ORDERS/purge/", {"confirm": "ORDERS"}),
        ("/clusters/lab/accounts/TEAM_A/publish/", {"subject": "orders.c", "data": "x"}),
        ("/clusters/lab/accounts/TEAM_A/streams/ORDERS/messages/1/delete/", {}),
        ("/clusters/lab/accounts/TEAM_A/streams/new/", {"name": "NEW", "subjects": "new.>"}),
        ("/clusters/lab/accounts/TEAM_A/streams/ORDERS/limits/", {"max_msgs": "1", "apply": "yes"}),
        ("/clusters/lab/accounts/TEAM_A/streams/ORDERS/delete/", {"confirm": "ORDERS"}),
    ]
    for path, data in pages:
        assert viewer.post(path, data).status_code == 403, path
    assert stream_state(nats_cluster) == before
    assert not AuditEntry.objects.exists()
    # Someone from another team does not even learn that the account exists.
    outsider = client_for(users["outsider"])
    assert post_json(outsider, "/api/clusters/lab/accounts/TEAM_A/streams/ORDERS/purge").status_code == 404
    assert outsider.get("/clusters/lab/accounts/TEAM_A/streams/ORDERS/").status_code == 404


BAD_INPUT = {
    "wildcard subject": ("publish", {"subject": "orders.*", "data": "x"}, "wildcard"),
    "empty token": ("publish", {"subject": "orders..x", "data": "x"}, "empty token"),
    "oversized payload": ("publish", {"subject": "orders.big", "data": "x" * (1024 * 1024 + 1)}, "max_payload"),
    "negative keep": ("purge", {"keep": -1}, "keep must be at least 0"),
    "keep and seq together": ("purge", {"keep": 1, "seq": 3}, "not both"),
    "non-numeric seq": ("purge", {"seq": "three"}, "whole number"),
    "bad filter": ("purge", {"subject": "orders.>.x"}, "last token"),
    "non-numeric message sequence": ("delete", "abc", "whole number"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_gets_a_clear_error_and_changes_nothing(fleet, nats_cluster, case):
    cluster, accounts, users = fleet
    make_stream(nats_cluster, messages=[("orders.a", b"1"), ("orders.b", b"2"), ("orders.a", b"3")])
    polling.poll_cluster(cluster.pk)
    action, body, message = BAD_INPUT[case]
    operator = client_for(users["operator"])
    before = stream_state(nats_cluster)
    if action == "publish":
        response = post_json(operator, "/api/clusters/lab/accounts/TEAM_A/publish", body)
    elif action == "purge":
        response = post_json(operator, "/api/clusters/lab/accounts/TEAM_A/streams/ORDERS/purge", body)
    else:
        response = post_json(operator, f"/api/clusters/lab/accounts/TEAM_A/streams/ORDERS/messages/{body}/delete")
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert stream_state(nats_cluster) == before
    assert not AuditEntry.objects.exists()


def test_unknown_stream_account_or_cluster_is_a_404_and_changes_nothing(fleet, nats_cluster):
    cluster, accounts, users = fleet
    make_stream(nats_cluster, messages=[("orders.a", b"1")])
    operator = client_for(users["operator"])
    missing = post_json(operator, "/api/clusters/lab/accounts/TEAM_A/streams/NOPE/purge")
    assert missing.status_code == 404 and "stream not found" in missing.json()["error"]
    assert post_json(operator, "/api/clusters/lab/accounts/NOPE/streams/ORDERS/purge").status_code == 404
    assert post_json(operator, "/api/clusters/nope/accounts/TEAM_A/streams/ORDERS/purge").status_code == 404
    gone = post_json(operator, "/api/clusters/lab/accounts/TEAM_A/streams/ORDERS/messages/99/delete")
    assert gone.status_code == 404
    assert stream_state(nats_cluster)["messages"] == 1
    assert set(AuditEntry.objects.values_list("outcome", flat=True)) == {"error"}


def test_delete_one_message_and_browse_around_the_gap(fleet, nats_cluster):
    cluster, accounts, users = fleet
    make_stream(nats_cluster, messages=[("orders.a", b"1"), ("orders.b", b"2"), ("orders.c", b"3")])
    polling.poll_cluster(cluster.pk)
    operator = client_for(users["operator"])
    assert post_json(operator, "/api/clusters/lab/accounts/TEAM_A/streams/ORDERS/messages/2/delete").json() == {
        "deleted": 2}
    assert stream_state(nats_cluster)["subjects"] == {"orders.a": 1, "orders.c": 1}
    browse = "/clusters/lab/accounts/TEAM_A/streams/ORDERS/messages/"
    assert operator.get(browse, {"seq": 1, "go": "next"}).context["message"].seq == 3
    assert operator.get(browse, {"seq": 3, "go": "previous"}).context["message"].seq == 1
    assert operator.get(browse, {"subject": "orders.c"}).context["message"].data == b"3"
    assert "no message found" in operator.get(browse, {"seq": 2}).context["error"]


def test_create_edit_limits_with_a_diff_and_delete_a_stream(fleet, nats_cluster):
    cluster, accounts, users = fleet
    operator = client_for(users["operator"])
    created = operator.post("/clusters/lab/accounts/TEAM_A/streams/new/", {
        "name": "EVENTS", "subjects": "events.>", "storage": "memory", "retention": "limits", "replicas": "1",
        "max_msgs": "100", "max_bytes": "-1", "max_age": "0", "max_msgs_per_subject": "-1", "discard": "old"})
    assert created.status_code == 302
    polling.poll_cluster(cluster.pk)
    preview = operator.post("/clusters/lab/accounts/TEAM_A/streams/EVENTS/limits/", {
        "max_msgs": "500", "max_bytes": "-1", "max_age": "3600", "max_msgs_per_subject": "-1", "discard": "new"})
    assert preview.context["diff"] == [("max_msgs", 100, 500), ("max_age", 0, 3600 * 10**9), ("discard", "old", "new")]

    async def config(nc, js):
        return (await js.stream_info("EVENTS")).config

    assert run_nats(nats_cluster, "TEAM_A", config).max_msgs == 100  # the diff changed nothing yet
    operator.post("/clusters/lab/accounts/TEAM_A/streams/EVENTS/limits/", {
        "max_msgs": "500", "max_bytes": "-1", "max_age": "3600", "max_msgs_per_subject": "-1", "discard": "new",
        "apply": "yes"})
    applied = run_nats(nats_cluster, "TEAM_A", config)
    assert applied.max_msgs == 500 and applied.max_age == 3600 and applied.discard == "new"

    refused = operator.post("/clusters/lab/accounts/TEAM_A/streams/EVENTS/delete/", {"confirm": "events"})
    assert "to confirm" in refused.content.decode() and refused.status_code == 200
    assert operator.post("/clusters/lab/accounts/TEAM_A/streams/EVENTS/delete/", {"confirm": "EVENTS"}).status_code == 302

    async def names(nc, js):
        return [s.config.name for s in await js.streams_info()]

    assert "EVENTS" not in run_nats(nats_cluster, "TEAM_A", names)
    assert list(AuditEntry.objects.order_by("id").values_list("action", "outcome")) == [
        ("create_stream", "ok"), ("update_stream", "ok"), ("delete_stream", "ok")]


def test_audit_log_is_scoped_and_cannot_be_edited(fleet, nats_cluster):
    cluster, accounts, users = fleet
    make_stream(nats_cluster)
    post_json(client_for(users["operator"]), "/api/clusters/lab/accounts/TEAM_A/publish",
              {"subject": "orders.x", "data": "secret-ish payload " * 30})
    entries = client_for(users["viewer"]).get("/api/audit/").json()["entries"]
    assert [e["action"] for e in entries] == ["publish"]
    assert len(entries[0]["parameters"]["payload_preview"]) == 200
    assert client_for(users["outsider"]).get("/api/audit/").json() == {"entries": []}
    entry = AuditEntry.objects.get()
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    root = client_for(users["root"])
    assert root.get(f"/admin/streams/auditentry/{entry.pk}/delete/").status_code in (403, 404)
    assert AuditEntry.objects.count() == 1
