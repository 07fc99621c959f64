"""Live tail benchmarks against a real Daphne and a real nats-server.

    .venv/bin/python -m bench.tail [--json OUT] [--firehose-seconds 20]

(a) publish-to-WebSocket latency at 1,000 msg/s (p50, p99; the median of --latency-runs runs of 10 s,
    each run's p99 listed: a frame leaves every 1/11 s, so a run's p99 is about 91 ms plus the
    machine's scheduling delays, which vary from run to run on a busy 2-core machine);
(b) the sustained rate one WebSocket client is given next to a bare nats-py subscriber, same run;
(c) a 50,000 msg/s firehose: Daphne's RSS growth, frames per second, received + dropped == published;
(d) 20 viewers of one subject: subscriptions for it on the NATS server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import nats
import websockets

from bench.support import BIN_DIR, PROJECT_DIR, Workspace, log, setup_django, start_redis, table
from devstack.nats import NatsCluster
from devstack.ports import free_port, wait_until
from devstack.processes import ManagedProcess

ACCOUNT = ("a", "a-secret")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def register(nats_cluster) -> str:
    """A superuser with an API token and the cluster with its TEAM_A account; returns the token."""
    from django.contrib.auth import get_user_model

    from clusters import services
    from clusters.models import Account

    cluster = services.register_cluster(name="bench", nats_urls=nats_cluster.client_urls,
                                        monitor_urls=nats_cluster.monitor_urls)
    Account.objects.create(cluster=cluster, name="TEAM_A", user=ACCOUNT[0], password=ACCOUNT[1])
    user = get_user_model().objects.create_superuser("bench", password="bench-password-1")
    return services.api_token_for(user=user)


class Tail:
    def __init__(self, daphne_port: int, token: str, subject: str):
        self.url = f"ws://127.0.0.1:{daphne_port}/ws/clusters/bench/accounts/TEAM_A/tail/?subject={subject}"
        self.token = token

    async def __aenter__(self):
        self.socket = await websockets.connect(self.url, max_size=None, open_timeout=10,
                                               additional_headers={"Authorization": f"Bearer {self.token}"})
        hello = json.loads(await self.socket.recv())
        assert hello.get("status") == "subscribed", hello
        return self.socket

    async def __aexit__(self, *exc):
        await self.socket.close()


def publisher(client_url: str, subject: str, rate: float, seconds: float, stamp: bool) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench.tail", "--publish", client_url, subject, str(rate),
                             str(seconds), "1" if stamp else "0"], cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True)


async def publish_paced(url: str, subject: str, rate: float, seconds: float, stamp: bool) -> int:
    """Publish at `rate` msg/s (0: as fast as possible) for `seconds`; prints the count."""
    nc = await nats.connect(url, user=ACCOUNT[0], password=ACCOUNT[1], pending_size=64 * 1024 * 1024)
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = 0
    tick = 0.005
    while loop.time() - started < seconds:
        due = int((loop.time() - started) * rate) if rate else sent + 1000
        while sent < due:
            payload = json.dumps({"t": time.time()}).encode() if stamp else b'{"n": %d}' % sent
            await nc.publish(subject, payload)
            sent += 1
        await nc.flush() if not rate else None
        await asyncio.sleep(tick if rate else 0)
    await nc.flush(timeout=30)
    await nc.close()
    print(sent, flush=True)
    return sent


async def latency(port: int, token: str, client_url: str, seconds: float) -> dict:
    delays = []
    async with Tail(port, token, "lat.>") as socket:
        pub = publisher(client_url, "lat.x", 1000, seconds, stamp=True)
        deadline = time.monotonic() + seconds + 5
        while time.monotonic() < deadline and pub.poll() is None or len(delays) < 100:
            try:
                frame = json.loads(await asyncio.wait_for(socket.recv(), 2))
            except asyncio.TimeoutError:
                break
            now = time.time()
            for message in frame.get("messages", []):
                delays.append(now - json.loads(message["data"])["t"])
        published = int(pub.communicate(timeout=30)[0])
    delays.sort()
    return {"published": published, "received": len(delays),
            "p50_ms": statistics.median(delays) * 1000, "p99_ms": delays[int(len(delays) * 0.99) - 1] * 1000}


async def sustained(port: int, token: str, client_url: str, seconds: float) -> dict:
    nc = await nats.connect(client_url, user=ACCOUNT[0], password=ACCOUNT[1], pending_size=256 * 1024 * 1024)
    bare = {"count": 0, "first": None, "last": None}

    async def on_message(message):
        now = time.monotonic()
        bare["first"] = bare["first"] or now
        bare["last"] = now
        bare["count"] += 1

    await nc.subscribe("rate.>", cb=on_message, pending_msgs_limit=10_000_000, pending_bytes_limit=-1)
    await nc.flush()
    ws = {"count": 0, "dropped": 0, "first": None, "last": None}
    async with Tail(port, token, "rate.>") as socket:
        pub = publisher(client_url, "rate.x", 0, seconds, stamp=False)
        while True:
            try:
                frame = json.loads(await asyncio.wait_for(socket.recv(), 3))
            except asyncio.TimeoutError:
                break
            if frame.get("messages"):
                now = time.monotonic()
                ws["first"] = ws["first"] or now
                ws["last"] = now
                ws["count"] += len(frame["messages"])
            ws["dropped"] = frame.get("dropped", ws["dropped"])
        published = int(pub.communicate(timeout=30)[0])
    await nc.close()
    bare_rate = bare["count"] / max(bare["last"] - bare["first"], 1e-9)
    ws_rate = ws["count"] / max(ws["last"] - ws["first"], 1e-9)
    return {"published": published, "bare_received": bare["count"], "bare_rate": bare_rate,
            "ws_received": ws["count"], "ws_dropped": ws["dropped"], "ws_rate": ws_rate,
            "ratio": ws_rate / bare_rate, "ws_accounted": ws["count"] + ws["dropped"] == published}


async def firehose(port: int, token: str, client_url: str, daphne_pid: int, seconds: float, rate: float) -> dict:
    rss_before = rss_bytes(daphne_pid)
    rss_peak = rss_before
    frames, sent = [], []  # when each frame arrived here, and when Daphne sent it
    received = dropped = 0
    async with Tail(port, token, "hose.>") as socket:
        pub = publisher(client_url, "hose.x", rate, seconds, stamp=False)
        while True:
            try:
                frame = json.loads(await asyncio.wait_for(socket.recv(), 3))
            except asyncio.TimeoutError:
                break
            frames.append(time.monotonic())
            sent.append(frame["sent_at"])
            received += len(frame.get("messages", []))
            dropped = frame.get("dropped", dropped)
            rss_peak = max(rss_peak, rss_bytes(daphne_pid))
        published = int(pub.communicate(timeout=60)[0])
    span = sent[-1] - sent[0] if len(sent) > 1 else 1
    return {"published": published, "publish_rate": published / seconds, "received": received, "dropped": dropped,
            "accounted": received + dropped == published, "frames": len(frames), "frames_per_s": len(frames) / span,
            "max_frames_sent_in_a_second": busiest_second(sent),
            "max_frames_arrived_in_a_second": busiest_second(frames),
            "rss_before": rss_before, "rss_growth": rss_peak - rss_before}


def busiest_second(moments: list[float]) -> int:
    """The most frames in any sliding one-second window."""
    most, start = 0, 0
    for end, at in enumerate(moments):
        while at - moments[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def many_viewers(port: int, token: str, monitor_urls: list[str], viewers: int) -> dict:
    """Subscriptions on every node of the cluster: the one Daphne's connection went to holds it."""
    tails = [Tail(port, token, "many.>") for _ in range(viewers)]
    sockets = [await tail.__aenter__() for tail in tails]
    count = 0
    for monitor_url in monitor_urls:
        body = httpx.get(f"{monitor_url}/subsz", params={"subs": "1", "acc": "TEAM_A"}, timeout=5).json()
        count += sum(1 for s in body.get("subscriptions_list") or [] if s["subject"] == "many.>")
    for tail in tails:
        await tail.__aexit__()
    return {"viewers": len(sockets), "server_subscriptions": count}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--firehose-seconds", type=float, default=20.0)
    parser.add_argument("--firehose-rate", type=float, default=50_000)
    parser.add_argument("--latency-runs", type=int, default=3, help="10 s latency runs (the median is reported)")
    parser.add_argument("--publish", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.publish:
        url, subject, rate, seconds, stamp = args.publish
        asyncio.run(publish_paced(url, subject, float(rate), float(seconds), stamp == "1"))
        return {}
    with Workspace("tail") as workspace:
        redis = start_redis(workspace)
        env = setup_django(workspace.path, redis.url)
        cluster = workspace.start(NatsCluster(workspace.path / "nats", size=3, name="bench"))
        token = register(cluster)
        port = free_port()
        daphne = ManagedProcess("daphne", [str(BIN_DIR / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                                           "natsdash.asgi:application"],
                                log_path=workspace.path / "daphne.log", cwd=PROJECT_DIR,
                                env={**os.environ, **env, "TAIL_MAX_PER_USER": "50"})
        workspace.callback(daphne.stop)
        daphne.start()
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200,
                   timeout=60, what="Daphne")
        client_url = cluster.client_urls[0]
        log(f"latency at 1,000 msg/s, {args.latency_runs} runs of 10 s")
        runs = [asyncio.run(latency(port, token, client_url, 10)) for _ in range(args.latency_runs)]
        lat = {"runs": runs, "published": sum(r["published"] for r in runs),
               "received": sum(r["received"] for r in runs),
               "p50_ms": statistics.median(r["p50_ms"] for r in runs),
               "p99_ms": statistics.median(r["p99_ms"] for r in runs)}
        log("sustained rate next to a bare subscriber")
        rate = asyncio.run(sustained(port, token, client_url, 10))
        log(f"firehose at {args.firehose_rate:,.0f} msg/s for {args.firehose_seconds:g} s")
        hose = asyncio.run(firehose(port, token, client_url, daphne.pid, args.firehose_seconds, args.firehose_rate))
        log("20 viewers of one subject")
        many = asyncio.run(many_viewers(port, token, cluster.monitor_urls, 20))
    results = {"latency": lat, "sustained": rate, "firehose": hose, "many_viewers": many}
    table("Live tail", ["measure", "figure", "target"], [
        ["publish→WebSocket latency p50 at 1,000 msg/s (median of runs)", f"{lat['p50_ms']:.1f} ms", ""],
        ["publish→WebSocket latency p99 at 1,000 msg/s (median of runs)", f"{lat['p99_ms']:.1f} ms", "≤ 100 ms"],
        ["  p99 of each run", " / ".join(f"{r['p99_ms']:.1f}" for r in lat["runs"]), ""],
        ["  messages received / published", f"{lat['received']} / {lat['published']}", ""],
        ["bare nats-py subscriber, msg/s", f"{rate['bare_rate']:,.0f}", ""],
        ["one WebSocket client, msg/s delivered", f"{rate['ws_rate']:,.0f}", ""],
        ["  ratio WebSocket / bare", f"{rate['ratio']:.2f}", ""],
        ["  WebSocket received + dropped == published", str(rate["ws_accounted"]), "True"],
        ["firehose published msg/s", f"{hose['publish_rate']:,.0f}", "50,000"],
        ["  Daphne RSS growth", f"{hose['rss_growth'] / 1e6:.1f} MB", "≤ 50 MB"],
        ["  frames per second sent (mean / most in any 1 s window)",
         f"{hose['frames_per_s']:.1f} / {hose['max_frames_sent_in_a_second']}", "≤ 10"],
        ["  frames in any 1 s window as this client read them", str(hose["max_frames_arrived_in_a_second"]), ""],
        ["  received + dropped == published",
         f"{hose['received']} + {hose['dropped']} = {hose['received'] + hose['dropped']} vs {hose['published']}",
         str(hose["accounted"])],
        ["20 viewers of one subject: server subscriptions", str(many["server_subscriptions"]), "1"],
    ])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
