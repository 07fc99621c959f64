"""Streams page and API with 5,000 streams and 20,000 consumers; the message page with a 1 MiB payload.

    .venv/bin/python -m bench.streams_page [--json OUT] [--streams 5000] [--consumers-per-stream 4]

The streams come as the poll stores them (AccountStreams rows), built from the shape the
parser gives for a real stream; the message page reads a real 1 MiB message from a real
nats-server. Times are server times through Django's test client (no network), medians of runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

import nats

from bench.support import Workspace, log, setup_django, table
from devstack.nats import NatsCluster


def stream_row(index: int, consumers: int) -> dict:
    name = f"STREAM_{index:05d}"
    return {
        "account": "TEAM_A" if index % 2 else "TEAM_B", "name": name, "subjects": [f"s{index}.>"],
        "storage": "file", "retention": "limits", "num_replicas": 3, "leader": f"n{index % 3 + 1}",
        "replicas": [{"name": f"n{(index + k) % 3 + 1}", "current": True, "offline": False, "active_ns": 1000,
                      "lag": 0} for k in (1, 2)],
        "messages": index * 10, "bytes": index * 1000, "first_seq": 1, "last_seq": index * 10,
        "first_ts": "2026-11-21T10:00:00+00:00", "last_ts": "2026-11-21T12:00:00+00:00", "num_subjects": 3,
        "consumer_count": consumers, "max_msgs": -1, "max_bytes": -1, "max_age_ns": 0, "max_msgs_per_subject": -1,
        "discard": "old", "created": "2026-11-01T00:00:00+00:00", "metadata": {},
        "consumers": [{"stream": name, "name": f"c{k}", "num_pending": k * 7, "num_ack_pending": k,
                       "num_redelivered": 0, "num_waiting": 1, "delivered_consumer_seq": 5,
                       "delivered_stream_seq": 5, "ack_floor_consumer_seq": 4, "ack_floor_stream_seq": 4,
                       "last_active": "2026-11-21T12:00:00+00:00", "leader": "n1", "ack_policy": "explicit",
                       "durable": True, "paused": False, "metadata": {}} for k in range(consumers)],
    }


def timed(client, path: str, runs: int) -> tuple[float, int]:
    times = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
        size = len(response.content)
    return statistics.median(times), size


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--streams", type=int, default=5000)
    parser.add_argument("--consumers-per-stream", type=int, default=4)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)
    with Workspace("streams") as workspace:
        setup_django(workspace.path)
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.utils import timezone

        from clusters import services
        from clusters.models import Account, AccountStreams
        from clusters.state import stream_summary

        cluster = workspace.start(NatsCluster(workspace.path / "nats", size=3, name="bench"))
        lab = services.register_cluster(name="lab", nats_urls=cluster.client_urls, monitor_urls=cluster.monitor_urls)
        Account.objects.create(cluster=lab, name="TEAM_A", user="a", password="a-secret")
        Account.objects.create(cluster=lab, name="TEAM_B", user="b", password="b-secret")
        rows = [stream_row(i, args.consumers_per_stream) for i in range(args.streams)]
        for account in ("TEAM_A", "TEAM_B"):
            mine = [row for row in rows if row["account"] == account]
            AccountStreams.objects.create(
                cluster=lab, account=account, polled_at=timezone.now(),
                summary=[stream_summary(row) for row in mine],
                detail_lines="".join(f"{json.dumps(r['name'])}\t{json.dumps(r, separators=(',', ':'))}\n" for r in mine))
        user = get_user_model().objects.create_superuser("bench", password="bench-password-1")
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        consumers = args.streams * args.consumers_per_stream
        log(f"{args.streams} streams, {consumers} consumers")
        results = {"streams": args.streams, "consumers": consumers}
        for label, path in (("page", "/clusters/lab/streams/"),
                            ("page_filtered", "/clusters/lab/streams/?account=TEAM_A&subject=s12&sort=-messages"),
                            ("page_last", f"/clusters/lab/streams/?page={args.streams // 50}"),
                            ("api", "/api/clusters/lab/streams")):
            timed(client, path, 1)  # warm
            results[label], results[f"{label}_bytes"] = timed(client, path, args.runs)

        async def put_big_message():
            nc = await nats.connect(cluster.client_urls[0], user="a", password="a-secret")
            js = nc.jetstream()
            await js.add_stream(name="BIG", subjects=["big.>"], num_replicas=1)
            payload = json.dumps({"blob": "x" * (1024 * 1024 - 20)}).encode()[: 1024 * 1024]
            ack = await js.publish("big.one", payload)
            await nc.close()
            return ack.seq, len(payload)

        seq, size = asyncio.run(put_big_message())
        path = f"/clusters/lab/accounts/TEAM_A/streams/BIG/messages/?seq={seq}"
        timed(client, path, 1)
        results["message_page"], results["message_page_bytes"] = timed(client, path, args.runs)
        results["message_page_all"], results["message_page_all_bytes"] = timed(client, path + "&all=1", args.runs)
        results["message_size"] = size

    table(f"Streams page with {args.streams:,} streams and {consumers:,} consumers (median of {args.runs})",
          ["request", "server time", "response", "target"], [
              ["streams page, first page", f"{results['page'] * 1000:.0f} ms", f"{results['page_bytes']:,} B", "≤ 300 ms"],
              ["streams page, filtered and sorted", f"{results['page_filtered'] * 1000:.0f} ms",
               f"{results['page_filtered_bytes']:,} B", "≤ 300 ms"],
              ["streams page, last page", f"{results['page_last'] * 1000:.0f} ms", f"{results['page_last_bytes']:,} B",
               "≤ 300 ms"],
              ["GET /api/clusters/<name>/streams (all)", f"{results['api'] * 1000:.0f} ms", f"{results['api_bytes']:,} B",
               "≤ 300 ms"],
              [f"message page, {results['message_size']:,} B payload (preview)", f"{results['message_page'] * 1000:.0f} ms",
               f"{results['message_page_bytes']:,} B", ""],
              ["message page, same, \"show all\"", f"{results['message_page_all'] * 1000:.0f} ms",
               f"{results['message_page_all_bytes']:,} B", ""],
          ])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
