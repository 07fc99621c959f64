"""Demo streams, consumers and a light steady flow of messages so the pages move.

    python -m devstack.traffic --servers nats://127.0.0.1:14222,... --rate 5
"""

import argparse
import asyncio
import json
import random
import signal
from datetime import datetime, timezone

import nats
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from devstack.nats import TEAM_ACCOUNTS

STREAMS = {
    "TEAM_A": [
        StreamConfig(name="ORDERS", subjects=["orders.>"], num_replicas=3,
                     storage=StorageType.FILE, max_msgs=200_000),
    ],
    "TEAM_B": [
        StreamConfig(name="SENSORS", subjects=["sensors.>"], num_replicas=1,
                     storage=StorageType.MEMORY, max_age=3600.0, max_msgs_per_subject=1000),
    ],
}
CONSUMERS = {
    ("TEAM_A", "ORDERS"): ["fulfilment", "audit"],
    ("TEAM_B", "SENSORS"): ["dashboard"],
}
# consumer -> (fraction of its backlog fetched per tick, fraction nak'ed): "audit" never reads.
CONSUMER_BEHAVIOUR = {"fulfilment": (1.0, 0.0), "audit": (0.0, 0.0), "dashboard": (1.0, 0.05)}
ROOMS = ("lab", "hall", "roof", "cellar")
READY_LINE = "demo traffic flowing"


async def connect(servers: list[str], account_name: str):
    account = next(a for a in TEAM_ACCOUNTS if a.name == account_name)
    return await nats.connect(servers=servers, user=account.user, password=account.password,
                              name=f"natsdash-demo-{account_name}", max_reconnect_attempts=-1,
                              reconnect_time_wait=1)


async def ensure_streams(js, account: str) -> None:
    for config in STREAMS[account]:
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)
    for (owner, stream), durables in CONSUMERS.items():
        if owner != account:
            continue
        for durable in durables:
            await js.add_consumer(stream, ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT))


async def publish_forever(nc, js, account: str, rate: float) -> None:
    sequence = 0
    while True:
        sequence += 1
        now = datetime.now(timezone.utc).isoformat()
        if account == "TEAM_A":
            kind = random.choice(("created", "paid", "shipped"))
            body = {"order": 10_000 + sequence, "state": kind, "amount": round(random.uniform(5, 500), 2), "at": now}
            await js.publish(f"orders.{kind}", json.dumps(body).encode(),
                             headers={"trace-id": f"{random.getrandbits(64):016x}"})
            await nc.publish("telemetry.checkout", json.dumps({"latency_ms": random.randint(3, 90)}).encode())
        else:
            room = random.choice(ROOMS)
            body = {"room": room, "celsius": round(random.gauss(21, 2), 2), "at": now}
            await js.publish(f"sensors.{room}.temperature", json.dumps(body).encode())
        await asyncio.sleep(1.0 / rate)


async def consume_forever(js, stream: str, durable: str) -> None:
    share, nak_ratio = CONSUMER_BEHAVIOUR[durable]
    if share == 0:
        return
    subscription = await js.pull_subscribe_bind(durable=durable, stream=stream)
    while True:
        try:
            messages = await subscription.fetch(batch=20, timeout=2)
        except (asyncio.TimeoutError, nats.errors.TimeoutError):
            continue
        for message in messages:
            if random.random() < nak_ratio:
                await message.nak()
            else:
                await message.ack()
        await asyncio.sleep(0.5)


async def ensure_streams_patiently(js, account: str, timeout: float = 90.0) -> None:
    """JetStream may still be electing leaders or recovering streams after a restart: retry."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await ensure_streams(js, account)
            return
        except (nats.errors.TimeoutError, nats.js.errors.APIError) as exc:
            if loop.time() > deadline:
                raise
            print(f"{account}: JetStream not ready yet ({exc!r}), retrying", flush=True)
            await asyncio.sleep(1)


async def run(servers: list[str], rate: float) -> None:
    tasks = []
    connections = []
    for account in STREAMS:
        nc = await connect(servers, account)
        connections.append(nc)
        js = nc.jetstream()
        await ensure_streams_patiently(js, account)
        tasks.append(asyncio.create_task(publish_forever(nc, js, account, rate)))
        for (owner, stream), durables in CONSUMERS.items():
            if owner == account:
                tasks.extend(asyncio.create_task(consume_forever(js, stream, d)) for d in durables)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"{READY_LINE}: {rate:g} msg/s per account on {', '.join(servers)}", flush=True)
    await stop.wait()
    for task in tasks:
        task.cancel()
    for nc in connections:
        await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", required=True, help="comma-separated NATS URLs")
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second per account")
    args = parser.parse_args()
    asyncio.run(run(args.servers.split(","), args.rate))


if __name__ == "__main__":
    main()
