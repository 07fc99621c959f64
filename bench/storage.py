"""Benchmark 3: bytes stored per day for the fleet of benchmark 2 under default retention.

Bytes per row are measured, not guessed: rows are written into a fresh SQLite database the
way polls write them (every series of 20 clusters at one moment, then the next moment 5 s
later) with Django's bulk_create, and SQLite's dbstat table gives the pages each table and
each of its indexes holds. The rows are then folded by clusters.retention.downsample_and_prune
to check the 12:1 raw-to-minute fold, and the minute rows are measured too.

The fleet's shape (nodes, streams, consumers) comes from the recorded JSON the simulated
fleet serves. Rows per day and the steady-state row count follow from POLL_INTERVAL and the
retention settings (SAMPLES_RAW_HOURS, SAMPLES_MINUTE_DAYS, SAMPLES_HOUR_DAYS): each moment
is stored at exactly one resolution, so a series holds RAW_HOURS*3600/POLL_INTERVAL raw rows,
(MINUTE_DAYS*24 - RAW_HOURS)*60 minute rows and (HOUR_DAYS - MINUTE_DAYS)*24 hour rows.

Finally real polls (clusters.polling.poll_cluster against the simulated fleet with no latency)
are counted in pages appended to SQLite's write-ahead log: what a poll really writes to disk,
samples plus the latest-state rows it rewrites (cluster, nodes, JetStream state) and the lease.

    .venv/bin/python -m bench.storage [--clusters 100] [--recording DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import timedelta
from pathlib import Path

from bench.support import (
    Workspace,
    fleet_recording,
    log,
    save_results,
    setup_django,
    size,
    start_redis,
    table,
)

SAMPLE_CLUSTERS = 20  # clusters whose series are written to measure row sizes
SAMPLE_POLLS = 120  # 10 minutes of polls
WRITE_CLUSTERS, WRITE_ROUNDS = 10, 8  # real polls counted in bytes written


def recorded_series(recording: Path) -> dict[str, list]:
    """The account/stream and account/stream/consumer names of one recorded cluster."""
    manifest = json.loads((recording / "recording.json").read_text())
    streams, consumers = set(), set()
    for node in manifest["nodes"]:
        jsz = json.loads((recording / node / "jsz.json").read_text())
        for account in jsz.get("account_details") or []:
            name = account.get("name") or account.get("id")
            for stream in account.get("stream_detail") or []:
                streams.add((name, stream["name"]))
                for consumer in stream.get("consumer_detail") or []:
                    consumers.add((name, stream["name"], consumer["name"]))
    return {"nodes": manifest["nodes"], "streams": sorted(streams), "consumers": sorted(consumers)}


def table_bytes() -> dict[str, dict]:
    """Pages held by each sample table and by its indexes, from SQLite's dbstat."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')")
        owner = dict(cursor.fetchall())
        cursor.execute("SELECT name, SUM(pgsize), SUM(payload) FROM dbstat GROUP BY name")
        usage = cursor.fetchall()
    tables: dict[str, dict] = {}
    for name, pages, payload in usage:
        table_name = owner.get(name, name)
        entry = tables.setdefault(table_name, {"table": 0, "indexes": 0, "payload": 0})
        entry["table" if name == table_name else "indexes"] += pages
        entry["payload"] += payload
    return tables


def write_samples(clusters, series, start, polls: int) -> None:
    """Rows as record_poll writes them: all series of all clusters at one moment, moment after moment."""
    from clusters.models import ConsumerSample, NodeSample, StreamSample

    rng = random.Random(11)
    for poll in range(polls):
        at = start + timedelta(seconds=5 * poll)
        node_rows, stream_rows, consumer_rows = [], [], []
        for cluster, nodes in clusters:
            for node in nodes:
                node_rows.append(NodeSample(
                    node=node, at=at, msgs_in_per_s=round(rng.uniform(0, 5000), 3),
                    msgs_out_per_s=round(rng.uniform(0, 5000), 3), bytes_in_per_s=round(rng.uniform(0, 5e6), 3),
                    bytes_out_per_s=round(rng.uniform(0, 5e6), 3), connections=rng.randint(0, 500),
                    subscriptions=rng.randint(0, 5000), slow_consumers=0, mem=rng.randint(20_000_000, 200_000_000),
                    cpu=round(rng.uniform(0, 60), 1)))
            for number, (account, stream) in enumerate(series["streams"]):
                messages = 1000 * number + 40 * poll
                stream_rows.append(StreamSample(cluster=cluster, account=account, stream=stream, at=at,
                                                messages=messages, bytes=messages * 310))
            for number, (account, stream, consumer) in enumerate(series["consumers"]):
                consumer_rows.append(ConsumerSample(
                    cluster=cluster, account=account, stream=stream, consumer=consumer, at=at,
                    num_pending=rng.randint(0, 10_000), num_ack_pending=rng.randint(0, 100),
                    num_redelivered=rng.randint(0, 3), ack_floor_stream_seq=1000 * number + 38 * poll))
        NodeSample.objects.bulk_create(node_rows)
        StreamSample.objects.bulk_create(stream_rows)
        ConsumerSample.objects.bulk_create(consumer_rows)


def measure_rows(series) -> dict:
    """Bytes per raw row and per minute row of each sample model, with their indexes."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from clusters import retention
    from clusters.models import Cluster, ConsumerSample, Node, NodeSample, Resolution, StreamSample

    clusters = []
    for index in range(SAMPLE_CLUSTERS):
        cluster = Cluster.objects.create(name=f"rows{index:03d}")
        nodes = [Node.objects.create(cluster=cluster, monitor_url=f"http://10.0.{index}.{n}:8222",
                                     server_name=f"rows{index:03d}-{name}")
                 for n, name in enumerate(series["nodes"], start=1)]
        clusters.append((cluster, nodes))
    now = timezone.now().replace(second=30, microsecond=0)
    # Ten whole minutes, old enough to be folded: they end a minute before the raw cutoff.
    start = (now - timedelta(hours=settings.SAMPLES_RAW_HOURS, minutes=12)).replace(second=0)
    started = time.perf_counter()
    write_samples(clusters, series, start, SAMPLE_POLLS)
    models = {"NodeSample": NodeSample, "StreamSample": StreamSample, "ConsumerSample": ConsumerSample}
    raw = {name: model.objects.count() for name, model in models.items()}
    raw_bytes = table_bytes()
    log(f"rows written in {time.perf_counter() - started:.1f}s: {raw}")
    report = retention.downsample_and_prune(now=now)
    minute = {name: model.objects.filter(resolution=Resolution.MINUTE).count() for name, model in models.items()}
    left_raw = {name: model.objects.filter(resolution=Resolution.RAW).count() for name, model in models.items()}
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")  # the fold leaves the raw rows' pages behind as free space
    minute_bytes = table_bytes()
    result = {}
    for name, model in models.items():
        db_table = model._meta.db_table
        before, after = raw_bytes[db_table], minute_bytes[db_table]
        result[name] = {
            "raw_rows": raw[name],
            "raw_table_per_row": before["table"] / raw[name],
            "raw_index_per_row": before["indexes"] / raw[name],
            "raw_payload_per_row": before["payload"] / raw[name],
            "minute_rows": minute[name],
            "raw_left": left_raw[name],
            "fold": raw[name] / minute[name] if minute[name] else None,
            # Packed by VACUUM, in the order the fold wrote them.
            "folded_per_row": (after["table"] + after["indexes"]) / minute[name] if minute[name] else None,
            "report": report.get(name),
        }
    return result


def fleet_rows(shape: dict, clusters: int) -> dict:
    """Series of the fleet and, per series, rows written per day and rows kept at steady state."""
    from django.conf import settings

    interval = settings.POLL_INTERVAL
    raw_hours, minute_days, hour_days = (settings.SAMPLES_RAW_HOURS, settings.SAMPLES_MINUTE_DAYS,
                                         settings.SAMPLES_HOUR_DAYS)
    per_series = {
        "written": {"raw": 86400 / interval, "minute": 24 * 60, "hour": 24},
        "kept": {"raw": raw_hours * 3600 / interval, "minute": (minute_days * 24 - raw_hours) * 60,
                 "hour": (hour_days - minute_days) * 24},
    }
    series = {"NodeSample": shape["nodes"] * clusters, "StreamSample": shape["streams"] * clusters,
              "ConsumerSample": shape["consumers"] * clusters}
    return {"per_series": per_series, "series": series, "interval": interval,
            "retention": {"SAMPLES_RAW_HOURS": raw_hours, "SAMPLES_MINUTE_DAYS": minute_days,
                          "SAMPLES_HOUR_DAYS": hour_days, "POLL_INTERVAL": interval}}


def wal_frames(checkpoint: str) -> int:
    """Frames in the WAL now (PRAGMA wal_checkpoint's second column), checkpointing in `checkpoint` mode."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA wal_checkpoint({checkpoint})")
        return cursor.fetchone()[1]


def measure_poll_writes(workspace: Workspace, recording: Path) -> dict:
    """WAL bytes per real poll: every page a poll's transactions change is appended to the WAL
    (4 kB each), later copied into the database file by a checkpoint."""
    from django.db import connection

    from bench.fleet import SimulatedFleet
    from clusters import polling, services
    from clusters.models import Cluster

    fleet = workspace.start(SimulatedFleet(workspace.path, recording, WRITE_CLUSTERS, (0.0, 0.0)))
    ids = [services.register_cluster(name=f"w-{name}", nats_urls=[], monitor_urls=urls).pk
           for name, urls in fleet.clusters.items()]
    for cluster_id in ids:  # the first poll writes topology and figures for the first time
        polling.poll_cluster(cluster_id)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA page_size")
        page_size = cursor.fetchone()[0]
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # this connection only; the WAL keeps every frame
    wal_frames("TRUNCATE")
    polls = 0
    for _ in range(WRITE_ROUNDS):
        Cluster.objects.update(last_polled_at=None)
        for cluster_id in ids:
            polling.poll_cluster(cluster_id)
            polls += 1
    updates = WRITE_ROUNDS  # the make-due updates above are not part of a poll
    frames = wal_frames("PASSIVE")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint=1000")
    wal_frames("TRUNCATE")
    Cluster.objects.update(last_polled_at=None)
    one_update = wal_frames("PASSIVE")
    frames -= updates * one_update
    return {"polls": polls, "page_size": page_size, "frames_per_poll": frames / polls,
            "wal_bytes_per_poll": frames * (page_size + 24) / polls}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Bytes stored per day for the simulated fleet.")
    parser.add_argument("--clusters", type=int, default=100, help="clusters of 3 nodes in the fleet")
    parser.add_argument("--recording", type=Path, help="recorded JSON of one cluster (recorded here when absent)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)

    with Workspace("storage") as workspace:
        recording = fleet_recording(args.recording or workspace.path / "recording")
        series = recorded_series(recording)
        shape = {"nodes": len(series["nodes"]), "streams": len(series["streams"]),
                 "consumers": len(series["consumers"])}
        redis = start_redis(workspace)
        setup_django(workspace.path, redis.url)
        rows = measure_rows(series)
        fleet = fleet_rows(shape, args.clusters)
        writes = measure_poll_writes(workspace, recording)

    per_series = fleet["per_series"]
    body, totals = [], {"written_rows": 0, "written_bytes": 0, "kept_rows": 0, "kept_bytes": 0}
    for name, measured in rows.items():
        count = fleet["series"][name]
        row_bytes = measured["raw_table_per_row"] + measured["raw_index_per_row"]
        written_rows = count * sum(per_series["written"].values())
        kept_rows = count * sum(per_series["kept"].values())
        totals["written_rows"] += written_rows
        totals["written_bytes"] += written_rows * row_bytes
        totals["kept_rows"] += kept_rows
        totals["kept_bytes"] += kept_rows * row_bytes
        body.append([name, f"{count:,}", f"{measured['raw_table_per_row']:.0f} + {measured['raw_index_per_row']:.0f}",
                     f"{measured['folded_per_row']:.0f}", f"{measured['fold']:.1f}:1",
                     f"{written_rows:,.0f}", size(written_rows * row_bytes),
                     f"{kept_rows:,.0f}", size(kept_rows * row_bytes)])
    body.append(["all samples", "", "", "", "", f"{totals['written_rows']:,.0f}", size(totals["written_bytes"]),
                 f"{totals['kept_rows']:,.0f}", size(totals["kept_bytes"])])
    polls_per_day = 86400 / fleet["interval"] * args.clusters
    physical = writes["wal_bytes_per_poll"] * polls_per_day
    kept = per_series["kept"]
    table(f"3. Samples stored for the fleet ({args.clusters} clusters: {shape['nodes'] * args.clusters} nodes, "
          f"{shape['streams'] * args.clusters} streams, {shape['consumers'] * args.clusters} consumers), SQLite",
          ["model", "series", "bytes/raw row (table + indexes)", "bytes/minute row (vacuumed, 1/12 the rows)",
           "fold", "rows written/day",
           "written/day", "rows at steady state", "steady-state size"], body, notes=[
              "retention: " + ", ".join(f"{k}={v}" for k, v in fleet["retention"].items()) +
              f"; per series: {kept['raw']:,.0f} raw + {kept['minute']:,.0f} minute + {kept['hour']:,.0f} hour rows "
              f"kept; {per_series['written']['raw']:,.0f} raw + 1,440 minute + 24 hour rows written a day",
              "sizes use the raw row's measured bytes for every resolution (rows as polls leave them; a vacuumed "
              "database packs minute rows tighter, see that column); SQLite keeps freed pages for reuse, so the "
              "file stays at its high-water mark",
              f"disk writes: a real poll (lease, record, release) appends {writes['frames_per_poll']:.0f} pages to "
              f"SQLite's WAL = {size(writes['wal_bytes_per_poll'])} per poll ({writes['polls']} polls of "
              f"{WRITE_CLUSTERS} clusters), i.e. {size(physical)} of WAL per day for the fleet, copied again into "
              "the database file by checkpoints",
              f"row sizes measured on {SAMPLE_CLUSTERS} clusters x {SAMPLE_POLLS} polls "
              f"({sum(r['raw_rows'] for r in rows.values()):,} rows) with SQLite's dbstat",
          ])
    results = {"shape": shape, "clusters": args.clusters, "rows": rows, "fleet": fleet, "writes": writes,
               "written_per_day_bytes": totals["written_bytes"], "steady_state_bytes": totals["kept_bytes"],
               "written_rows_per_day": totals["written_rows"], "steady_state_rows": totals["kept_rows"],
               "physical_written_per_day_bytes": physical}
    save_results(args.json, results)
    return results


if __name__ == "__main__":
    main()
