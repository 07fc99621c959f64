"""The live tail through a real Daphne and a real NATS cluster."""

import asyncio
import json

import httpx
import pytest
import websockets

from clusters.services import api_token_for
from devstack.ports import wait_until
from tests.support.fleet import register_fleet

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tokens(nats_cluster, make_user):
    cluster, accounts, users = register_fleet(nats_cluster, make_user)
    return {role: api_token_for(user=user) for role, user in users.items()}


def tail_url(server, subject: str, account: str = "TEAM_A") -> str:
    return f"{server.ws_url}/ws/clusters/lab/accounts/{account}/tail/?subject={subject}"


def open_tail(server, token: str, subject: str, account: str = "TEAM_A"):
    return websockets.connect(tail_url(server, subject, account), open_timeout=10, max_size=None,
                              additional_headers={"Authorization": f"Bearer {token}"})


async def publish(nats_cluster, messages, server_index: int = 0):
    import nats

    account = nats_cluster.account("TEAM_A")
    nc = await nats.connect(nats_cluster.client_urls[server_index], user=account.user, password=account.password)
    for subject, data, headers in messages:
        await nc.publish(subject, data, headers=headers)
    await nc.flush()
    await nc.close()


async def collect(socket, count: int, timeout: float = 15) -> tuple[list, dict]:
    messages, last = [], {}
    async with asyncio.timeout(timeout):
        while len(messages) < count:
            frame = json.loads(await socket.recv())
            if "messages" in frame:
                messages.extend(frame["messages"])
                last = frame
    return messages, last


async def subscribed(socket) -> dict:
    hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert hello["status"] == "subscribed", hello
    return hello


async def test_messages_arrive_in_order_with_headers_and_wildcards_work(daphne_server, nats_cluster, tokens):
    async with open_tail(daphne_server, tokens["viewer"], "orders.>") as socket:
        await subscribed(socket)
        sent = [(f"orders.{i % 3}.new", f'{{"n": {i}}}'.encode(), {"trace-id": f"t{i}"}) for i in range(50)]
        await publish(nats_cluster, sent + [("other.x", b"not me", None)])
        messages, frame = await collect(socket, 50)
    assert [m["data"] for m in messages] == [d.decode() for _, d, _ in sent]
    assert [m["subject"] for m in messages] == [s for s, _, _ in sent]
    assert messages[7]["headers"] == {"trace-id": "t7"}
    assert all(m["size"] == len(d) for m, (_, d, _) in zip(messages, sent))
    assert frame["dropped"] == 0


async def test_refusals_come_as_close_codes(daphne_server, tokens):
    async def close_code(token, subject, account="TEAM_A"):
        async with open_tail(daphne_server, token, subject, account) as socket:
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(socket.recv(), 10)
        return closed.value.rcvd.code

    assert await close_code(tokens["outsider"], "orders.>") == 4403  # another team's operator
    assert await close_code(tokens["viewer"], "orders.>", account="TEAM_B") == 4403
    assert await close_code(tokens["viewer"], "orders.>", account="NOPE") == 4403
    assert await close_code(tokens["viewer"], "orders..x") == 4400
    assert await close_code(tokens["viewer"], "orders.>.x") == 4400
    assert await close_code("nd_not-a-token", "orders.>") == 4401


def subscription_subjects(nats_cluster) -> list[str]:
    subjects = []
    for url in nats_cluster.monitor_urls:
        body = httpx.get(f"{url}/subsz", params={"subs": "1", "acc": "TEAM_A"}, timeout=3).json()
        subjects += [s["subject"] for s in body.get("subscriptions_list") or []]
    return subjects


async def test_one_subscription_for_many_viewers_gone_after_the_last_leaves(daphne_server, nats_cluster, tokens):
    sockets = [await open_tail(daphne_server, tokens["viewer"], "shared.>") for _ in range(3)]
    try:
        for socket in sockets:
            await subscribed(socket)
        assert (await asyncio.to_thread(subscription_subjects, nats_cluster)).count("shared.>") == 1
        await publish(nats_cluster, [("shared.a", b"1", None)])
        for socket in sockets:
            assert [m["data"] for m in (await collect(socket, 1))[0]] == ["1"]
    finally:
        for socket in sockets:
            await socket.close()
    await asyncio.to_thread(wait_until, lambda: "shared.>" not in subscription_subjects(nats_cluster),
                            timeout=5, what="the subscription's removal")


async def test_under_overload_received_plus_dropped_equals_published(daphne_server, nats_cluster, tokens):
    total = 30_000
    async with open_tail(daphne_server, tokens["viewer"], "flood.>") as socket:
        await subscribed(socket)
        await publish(nats_cluster, [("flood.x", b"%d" % i, None) for i in range(total)])
        received, dropped, frames = 0, 0, 0
        async with asyncio.timeout(60):
            while received + dropped < total:
                frame = json.loads(await socket.recv())
                if "messages" in frame:
                    frames += 1
                    received += len(frame["messages"])
                    dropped = frame["dropped"]
                    assert frame["received"] == received
    assert received + dropped == total
    assert dropped > 0 and received > 0


async def test_tail_moves_to_another_node_when_its_node_dies(daphne_server, nats_cluster, tokens):
    async with open_tail(daphne_server, tokens["viewer"], "survive.>") as socket:
        hello = await subscribed(socket)
        index = nats_cluster.client_urls.index(hello["server"].replace("nats://", "nats://"))
        survivor = (index + 1) % 3
        await asyncio.to_thread(nats_cluster.kill_node, index)
        try:
            async with asyncio.timeout(20):
                while True:
                    frame = json.loads(await socket.recv())
                    if any(n.get("connection") == "reconnected" for n in frame.get("notices", [])):
                        break
            await asyncio.sleep(0.5)  # the resubscription reaches the new server
            await publish(nats_cluster, [("survive.x", b"after", None)], server_index=survivor)
            messages, _ = await collect(socket, 1)
            assert messages[0]["data"] == "after"
        finally:
            await asyncio.to_thread(nats_cluster.restart_node, index)




async def test_replay_from_a_sequence_then_live_without_consuming_a_work_queue(daphne_server, nats_cluster, tokens):
    from nats.js.api import RetentionPolicy, StreamConfig

    from tests.support.fleet import publish_when_ready

    async def fill():
        import nats

        account = nats_cluster.account("TEAM_A")
        nc = await nats.connect(nats_cluster.client_urls, user=account.user, password=account.password)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="JOBS", subjects=["jobs.>"], retention=RetentionPolicy.WORK_QUEUE,
                                         num_replicas=1))
        for index in range(1, 11):
            await publish_when_ready(js, f"jobs.{'a' if index % 2 else 'b'}", b"job %d" % index)
        await nc.close()

    async def stored():
        import nats

        account = nats_cluster.account("TEAM_A")
        nc = await nats.connect(nats_cluster.client_urls, user=account.user, password=account.password)
        info = await nc.jetstream().stream_info("JOBS")
        await nc.jetstream().delete_stream("JOBS")
        await nc.close()
        return info.state.messages

    await fill()
    url = tail_url(daphne_server, "jobs.a") + "&replay_stream=JOBS&replay_seq=4"
    async with websockets.connect(url, open_timeout=10, additional_headers={
            "Authorization": f"Bearer {tokens['viewer']}"}) as socket:
        hello = await subscribed(socket)
        assert hello["replay"] is True
        replayed, _ = await collect(socket, 3)  # jobs.a at 5, 7, 9
        assert [(m["seq"], m["data"]) for m in replayed] == [(5, "job 5"), (7, "job 7"), (9, "job 9")]
        await publish(nats_cluster, [("jobs.a", b"live", None)])
        live, _ = await collect(socket, 1)
        assert live[0]["data"] == "live" and "seq" not in live[0]
    assert await stored() == 11  # read, never consumed


async def test_bad_replay_request_is_refused(daphne_server, tokens):
    url = tail_url(daphne_server, "jobs.a") + "&replay_stream=JOBS&replay_seq=two"
    async with websockets.connect(url, open_timeout=10,
                                  additional_headers={"Authorization": f"Bearer {tokens['viewer']}"}) as socket:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(socket.recv(), 10)
    assert closed.value.rcvd.code == 4400
