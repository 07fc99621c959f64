"""Benchmark 2: one worker polling a fleet of 300 simulated nodes (100 clusters of 3).

The fleet is bench.simfleet: 300 listening ports answering with JSON recorded from a real
3-node cluster (10 streams, 20 consumers in TEAM_A), renamed per simulated node, after
20-80 ms of random latency per request. The 100 clusters are registered in a fresh SQLite
database under a temporary DATA_DIR.

(a) bare fetch: the URLs a poll reads (1,500: /varz, /routez, /healthz, /jsz with poll's query and
    /accstatz x 300 nodes; the recorded servers have no gateways or leafnodes, so a poll skips
    /gatewayz and /leafz) fetched by one httpx.AsyncClient with poll's client settings, all at
    once; wall time, no parsing.
    (a2) the same with one client per cluster, as poll_cluster has them, all in one event loop.
(b) fleet poll: clusters.tasks.poll_all is sent to a real Celery worker over a private Redis,
    as beat sends it; the worker runs it, it fans out poll_cluster for the 100 due clusters,
    and the clock stops when the database shows every cluster's poll recorded. Before the
    rounds the worker polls 2 x concurrency clusters to warm up; before each round every
    cluster is made due by clearing last_polled_at (what waiting POLL_INTERVAL would do).
    The CPU time of the worker's processes, of other processes on the machine and steal
    are counted per round, so a busy machine shows in the figures.
(c) sustained: for the fastest worker setting, poll_all every second for --sustain seconds
    (beat's cadence): polls recorded against the one per cluster per 5 s wanted, polls sooner
    than that after the cluster's previous one, and the tasks still queued at the end.

    .venv/bin/python -m bench.fleet [--clusters 100] [--rounds 2] [--bare-runs 2] \\
        [--workers prefork:4,prefork:6,prefork:8] [--sustain 20] [--latency-ms 20 80]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.support import (
    POLLED_ENDPOINTS,
    Workspace,
    endpoint_url,
    fleet_recording,
    group_cpu_seconds,
    log,
    machine_cpu_seconds,
    median,
    ms,
    recording_counts,
    save_results,
    setup_django,
    start_redis,
    table,
)
from devstack.celery_worker import CeleryWorker
from devstack.ports import wait_until
from devstack.processes import ManagedProcess

BEAT = 5.0  # POLL_INTERVAL's default: the time one fleet poll has
DEFAULT_WORKERS = "prefork:4,prefork:6,prefork:8"


class SimulatedFleet:
    def __init__(self, workdir: Path, recording: Path, clusters: int, latency_ms: tuple[float, float]):
        self.ports_file = workdir / "simfleet-ports.json"
        self.process = ManagedProcess(
            "simfleet",
            [sys.executable, "-m", "bench.simfleet", "--recording", str(recording), "--clusters", str(clusters),
             "--ports-file", str(self.ports_file), "--latency-ms", *(str(v) for v in latency_ms)],
            log_path=workdir / "simfleet.log",
            cwd=Path(__file__).resolve().parents[1],
        )
        self.clusters: dict[str, list[str]] = {}

    def start(self) -> "SimulatedFleet":
        self.process.start()

        def listening() -> bool:
            if not self.process.running():
                raise RuntimeError(f"simulated fleet exited:\n{self.process.log_tail()}")
            return self.ports_file.exists()

        wait_until(listening, timeout=60, interval=0.1, what="the simulated fleet")
        layout = json.loads(self.ports_file.read_text())
        self.clusters = {name: [f"http://127.0.0.1:{layout['ports'][node]}" for node in nodes]
                         for name, nodes in layout["clusters"].items()}
        return self

    @property
    def monitor_urls(self) -> list[str]:
        return [url for urls in self.clusters.values() for url in urls]

    def stop(self) -> None:
        self.process.stop()


def endpoint_urls(base: str) -> list[str]:
    return [endpoint_url(base, endpoint) for endpoint in POLLED_ENDPOINTS]


def bare_fetch(clusters: dict[str, list[str]], timeout: float, *, client_per_cluster: bool) -> tuple[float, int, int]:
    """Wall time, responses and bytes of plain GETs of every endpoint of every node, all at once,
    with poll's client settings: through one client, or one client per cluster as poll_cluster has."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)

    async def fetch(client: httpx.AsyncClient, urls: list[str]) -> list[httpx.Response]:
        return await asyncio.gather(*(client.get(url, timeout=timeout) for url in urls))

    async def per_cluster(urls: list[str]) -> list[httpx.Response]:
        async with httpx.AsyncClient(limits=limits, follow_redirects=False) as client:
            return await fetch(client, urls)

    async def run():
        groups = [[url for base in bases for url in endpoint_urls(base)] for bases in clusters.values()]
        started = time.perf_counter()
        if client_per_cluster:
            answers = await asyncio.gather(*(per_cluster(urls) for urls in groups))
        else:
            async with httpx.AsyncClient(limits=limits, follow_redirects=False) as client:
                answers = [await fetch(client, [url for urls in groups for url in urls])]
        elapsed = time.perf_counter() - started
        responses = [r for group in answers for r in group]
        bad = [r for r in responses if r.status_code != 200]
        if bad:
            raise RuntimeError(f"{len(bad)} bad answers, first: {bad[0].status_code} {bad[0].url}")
        return elapsed, len(responses), sum(len(r.content) for r in responses)

    return asyncio.run(run())


def polls_recorded_since(since) -> int:
    from clusters.models import Cluster

    return Cluster.objects.filter(last_polled_at__gte=since).count()


def node_samples_since(since) -> int:
    from clusters.models import NodeSample

    return NodeSample.objects.filter(at__gte=since).count()


def fleet_round(clusters: int, timeout: float) -> dict:
    """poll_all to the worker; seconds until every cluster's poll is in the database."""
    from django.utils import timezone

    from clusters import tasks
    from clusters.models import Cluster

    since = timezone.now()
    started = time.perf_counter()
    tasks.poll_all.delay()
    deadline = started + timeout
    done = 0
    while time.perf_counter() < deadline:
        done = polls_recorded_since(since)
        if done >= clusters:
            break
        time.sleep(0.05)  # the finish is known to 50 ms; polling the database costs CPU too
    elapsed = time.perf_counter() - started
    if done < clusters:
        raise TimeoutError(f"only {done} of {clusters} clusters polled after {timeout:.0f}s")
    fetch_ms = list(Cluster.objects.filter(last_polled_at__gte=since).values_list("last_poll_ms", flat=True))
    statuses = set(Cluster.objects.values_list("status", flat=True))
    return {"seconds": elapsed, "median_fetch_s": median(fetch_ms) / 1000, "max_fetch_s": max(fetch_ms) / 1000,
            "statuses": sorted(statuses), "since": since}


def make_all_due() -> None:
    """Every cluster due now: what waiting POLL_INTERVAL after the last round would do, without the wait."""
    from clusters.models import Cluster

    Cluster.objects.update(last_polled_at=None)


def warm_up(worker: CeleryWorker, clusters: int) -> float:
    """A few polls so every pool process or thread has imported, connected and parsed once."""
    from django.utils import timezone

    from clusters import tasks
    from clusters.models import Cluster

    since = timezone.now()
    started = time.perf_counter()
    ids = list(Cluster.objects.order_by("pk").values_list("pk", flat=True)[:2 * worker.concurrency])
    for cluster_id in ids:
        tasks.poll_cluster.delay(cluster_id)
    wait_until(lambda: polls_recorded_since(since) >= len(ids), timeout=60, interval=0.05,
               what="the warm-up polls")
    return time.perf_counter() - started


def bench_worker(workspace: Workspace, env: dict, pool: str, concurrency: int) -> CeleryWorker:
    return CeleryWorker(log_path=workspace.path / f"celery-{pool}-{concurrency}.log",
                        env={**os.environ, **env, "LOG_LEVEL": "INFO"}, pool=pool, concurrency=concurrency,
                        name=f"bench-{pool}{concurrency}")


def measure_worker(workspace: Workspace, env: dict, pool: str, concurrency: int, clusters: int,
                   rounds: int, own_groups: list[int]) -> dict:
    """Rounds of (b) with one worker setting, with the CPU its processes used and what the rest of
    the machine took meanwhile (other processes, and steal: time the hypervisor gave elsewhere)."""
    worker = bench_worker(workspace, env, pool, concurrency)
    log(f"worker {worker.label}: starting")
    worker.start()
    try:
        warm = warm_up(worker, clusters)
        results = []
        for number in range(rounds):
            make_all_due()
            groups = [worker.process.pid, *own_groups]
            before_groups = [group_cpu_seconds(g) for g in groups]
            before_self, before_machine = time.process_time(), machine_cpu_seconds()
            result = fleet_round(clusters, timeout=120)
            after_machine = machine_cpu_seconds()
            used = [group_cpu_seconds(g) - b for g, b in zip(groups, before_groups)]
            ours = sum(used) + time.process_time() - before_self
            result.update(worker_cpu_s=used[0], fleet_cpu_s=used[1], redis_cpu_s=used[2], others_cpu_s=max(0.0, after_machine["busy"] - before_machine["busy"] - ours),
                          steal_s=after_machine["steal"] - before_machine["steal"])
            result["polls"] = node_samples_since(result.pop("since")) / 3
            results.append(result)
            log(f"worker {worker.label}: round {number + 1}: {result['seconds']:.2f}s, worker CPU "
                f"{result['worker_cpu_s']:.1f}s, simulated fleet {result['fleet_cpu_s']:.1f}s, Redis "
                f"{result['redis_cpu_s']:.1f}s, other processes {result['others_cpu_s']:.1f}s, "
                f"steal {result['steal_s']:.1f}s")
        return {"pool": pool, "concurrency": concurrency, "label": worker.label, "warmup_s": warm,
                "rounds": results, "median_s": median(r["seconds"] for r in results),
                "cpu_per_poll_s": median(r["worker_cpu_s"] / r["polls"] for r in results),
                "others_cpu_s": median(r["others_cpu_s"] for r in results),
                "steal_s": median(r["steal_s"] for r in results)}
    finally:
        worker.stop()


def sustained(workspace: Workspace, env: dict, redis_url: str, pool: str, concurrency: int, clusters: int,
              seconds: float) -> dict:
    """Beat's cadence: poll_all every second for `seconds`. Polls recorded in that window, polls
    of a cluster sooner than POLL_INTERVAL after its previous one, and the tasks still queued."""
    import redis
    from django.conf import settings
    from django.utils import timezone

    from clusters import tasks
    from clusters.models import NodeSample
    from natsdash.celery import app

    worker = bench_worker(workspace, env, pool, concurrency)
    worker.start()
    try:
        warm_up(worker, clusters)
        make_all_due()
        since = timezone.now()
        started = time.perf_counter()
        ticks = 0
        while time.perf_counter() - started < seconds:
            tasks.poll_all.delay()
            ticks += 1
            time.sleep(max(0.0, started + ticks - time.perf_counter()))
        window_end = timezone.now()
        backlog = redis.Redis.from_url(redis_url).llen("celery")
        time.sleep(1.0)  # polls that started inside the window commit
        samples = (NodeSample.objects.filter(at__gte=since, at__lt=window_end)
                   .order_by("node_id", "at").values_list("node_id", "at"))
        early, previous, per_node = 0, (None, None), {}
        for node_id, at in samples:
            per_node[node_id] = per_node.get(node_id, 0) + 1
            if previous[0] == node_id and (at - previous[1]).total_seconds() < settings.POLL_INTERVAL - 0.5:
                early += 1
            previous = (node_id, at)
        app.control.purge()
        return {"label": worker.label, "seconds": seconds, "ticks": ticks, "polls": len(samples) / 3,
                "expected": clusters * seconds / BEAT, "early_polls": early / 3, "backlog": backlog,
                "clusters_polled": len(per_node) / 3}
    finally:
        worker.stop()


def cpu_floor(measured: dict, clusters: int, cores: int) -> float:
    usable = min(measured["concurrency"], cores) if measured["pool"] == "prefork" else 1
    return clusters * measured["cpu_per_poll_s"] / usable


def parse_workers(text: str) -> list[tuple[str, int]]:
    configs = []
    for item in text.split(","):
        pool, _, concurrency = item.strip().partition(":")
        configs.append((pool, int(concurrency or 1)))
    return configs


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="One worker polling a fleet of simulated nodes.")
    parser.add_argument("--clusters", type=int, default=100, help="clusters of 3 simulated nodes")
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds per worker setting")
    parser.add_argument("--workers", default=DEFAULT_WORKERS, help="pool:concurrency,... to try")
    parser.add_argument("--latency-ms", type=float, nargs=2, default=(20.0, 80.0))
    parser.add_argument("--sustain", type=float, default=20.0, help="seconds of beat cadence (0: skip)")
    parser.add_argument("--bare-runs", type=int, default=2, help="runs of each bare fetch")
    parser.add_argument("--recording", type=Path, help="recorded JSON to serve (recorded here when absent)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)

    with Workspace("fleet") as workspace:
        recording = fleet_recording(args.recording or workspace.path / "recording")
        shape = recording_counts(recording)
        redis = start_redis(workspace)
        env = setup_django(workspace.path, redis.url)
        fleet = workspace.start(SimulatedFleet(workspace.path, recording, args.clusters, tuple(args.latency_ms)))

        from django.conf import settings

        from clusters import services

        for name, urls in fleet.clusters.items():
            services.register_cluster(name=name, nats_urls=[], monitor_urls=urls)
        nodes = len(fleet.monitor_urls)

        bare_fetch(fleet.clusters, settings.MONITOR_TIMEOUT, client_per_cluster=True)  # warm both sides up
        bare, bare_split = [], []
        for _ in range(args.bare_runs):
            bare.append(bare_fetch(fleet.clusters, settings.MONITOR_TIMEOUT, client_per_cluster=False))
            bare_split.append(bare_fetch(fleet.clusters, settings.MONITOR_TIMEOUT, client_per_cluster=True))
        bare_s, split_s = median(b[0] for b in bare), median(b[0] for b in bare_split)
        requests, body_bytes = bare[0][1], bare[0][2]
        log(f"bare fetch of {requests} URLs: {bare_s:.2f}s through one client, {split_s:.2f}s one client per cluster")

        own_groups = [fleet.process.pid, redis.process.pid]
        measured = [measure_worker(workspace, env, pool, concurrency, args.clusters, args.rounds, own_groups)
                    for pool, concurrency in parse_workers(args.workers)]
        from clusters.models import Cluster

        statuses = Counter(Cluster.objects.values_list("status", flat=True))
        best = min(measured, key=lambda m: m["median_s"])
        steady = None
        if args.sustain > 0:
            steady = sustained(workspace, env, redis.url, best["pool"], best["concurrency"], args.clusters,
                               args.sustain)

    cores = os.cpu_count() or 1
    rows = []
    for m in measured:
        rows.append([m["label"], f"{m['median_s']:.2f} s", " / ".join(f"{r['seconds']:.2f}" for r in m["rounds"]),
                     "yes" if m["median_s"] <= BEAT else "NO",
                     f"{m['median_s'] / bare_s:.2f}x", "yes" if m["median_s"] <= 1.5 * bare_s else "NO",
                     f"{m['median_s'] / split_s:.1f}x",
                     ms(median(r["median_fetch_s"] for r in m["rounds"])),
                     ms(m["cpu_per_poll_s"]), f"{cpu_floor(m, args.clusters, cores):.1f} s",
                     f"{m['others_cpu_s']:.0f} s / {m['steal_s']:.0f} s"])
    notes = [
        f"(a)  bare fetch, the same {requests} URLs ({body_bytes / 1e6:.1f} MB) through ONE httpx.AsyncClient with "
        f"poll's limits: median {bare_s:.2f} s ({', '.join(f'{b[0]:.2f}' for b in bare)})",
        f"(a2) the same URLs, one client per cluster as poll_cluster has, all clusters at once in one event loop: "
        f"median {split_s:.2f} s ({', '.join(f'{b[0]:.2f}' for b in bare_split)})",
        f"(b)  poll_all sent to the worker, until all {args.clusters} clusters have recorded their poll "
        f"(every cluster due, queue empty, worker warmed up by {2}x concurrency polls)",
        "fetch/cluster: median last_poll_ms, the fetch_nodes time of one cluster inside the worker",
        f"fleet: {args.clusters} clusters x 3 = {nodes} simulated nodes, each cluster {shape['streams']} streams, "
        f"{shape['consumers']} consumers (fleet: {shape['streams'] * args.clusters} streams, "
        f"{shape['consumers'] * args.clusters} consumers); {args.latency_ms[0]:.0f}-{args.latency_ms[1]:.0f} ms "
        "latency per request",
        "worker CPU/poll: CPU seconds of the worker's processes in a round / polls; CPU floor: the round's "
        f"length if the worker had the machine to itself: clusters x worker CPU/poll / the cores it can use "
        f"(prefork: min(concurrency, {cores}); threads: 1, the GIL)",
        "others / steal: CPU seconds other processes on this machine used during a round, and time the "
        "hypervisor gave to other machines (the benchmark's own processes excluded)",
        "cluster status after the polls: " + ", ".join(f"{n} {status}" for status, n in statuses.most_common()) +
        " (each simulated cluster: 3 routed nodes, a JetStream meta leader, its own streams)",
        f"recommended (fastest median): {best['label']}",
    ]
    table(f"2. Fleet poll: {nodes} simulated nodes, one worker, this {cores}-core machine",
          ["worker", "median (b)", "rounds (s)", f"(b) <= {BEAT:.0f} s", "(b)/(a)", "<= 1.5x (a)", "(b)/(a2)",
           "fetch/cluster", "worker CPU/poll", "CPU floor", "others / steal"], rows, notes)
    if steady:
        table(f"   Sustained: poll_all every 1 s for {steady['seconds']:.0f} s (as beat sends it), {steady['label']}",
              ["poll_all sent", "polls recorded", f"wanted (each cluster every {BEAT:.0f} s)",
               f"polls < {BEAT - 0.5:.1f} s after the last", "clusters polled", "tasks queued at the end"],
              [[steady["ticks"], f"{steady['polls']:.0f}", f"{steady['expected']:.0f}",
                f"{steady['early_polls']:.0f}", f"{steady['clusters_polled']:.0f} of {args.clusters}",
                steady["backlog"]]])
    results = {"nodes": nodes, "clusters": args.clusters, "shape": shape, "statuses": dict(statuses), "bare_s": bare_s,
               "bare_runs": [b[0] for b in bare], "bare_per_cluster_s": split_s,
               "bare_per_cluster_runs": [b[0] for b in bare_split], "requests": requests, "body_bytes": body_bytes,
               "workers": measured, "recommended": best["label"], "sustained": steady}
    save_results(args.json, results)
    return results


if __name__ == "__main__":
    main()
