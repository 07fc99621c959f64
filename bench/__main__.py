"""`make bench`: every benchmark, each in its own process with its own servers and time limit,
then a summary of the headline figures.

    .venv/bin/python -m bench                    # all of them
    .venv/bin/python -m bench fleet storage      # some of them
    .venv/bin/python -m bench.fleet --help       # one, with its options
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.support import PROJECT_DIR, size, table

# name: (module, time limit in seconds, takes the shared recording)
BENCHMARKS = {
    "one_poll": ("bench.one_poll", 240, False),
    "fleet": ("bench.fleet", 480, True),
    "storage": ("bench.storage", 240, True),
    "streams_page": ("bench.streams_page", 240, False),
    "tail": ("bench.tail", 300, False),
}


def run(name: str, run_dir: Path) -> tuple[dict | None, float, str]:
    module, limit, shared = BENCHMARKS[name]
    out = run_dir / f"{name}.json"
    argv = [sys.executable, "-m", module, "--json", str(out)]
    if shared:
        argv += ["--recording", str(run_dir / "recording")]
    started = time.perf_counter()
    # Its own session: on a timeout the whole group goes, servers included (they also die with
    # their parent).
    child = subprocess.Popen(argv, cwd=PROJECT_DIR, start_new_session=True)
    try:
        code = child.wait(timeout=limit)
        problem = "" if code == 0 else f"exited with {code}"
    except subprocess.TimeoutExpired:
        problem = f"stopped after its {limit} s limit"
        # SIGTERM first: the benchmark stops its servers and removes its directory.
        for sig, grace in ((signal.SIGTERM, 40), (signal.SIGKILL, 10)):
            try:
                os.killpg(child.pid, sig)
            except ProcessLookupError:
                break
            try:
                child.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
    except KeyboardInterrupt:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait()
        raise
    elapsed = time.perf_counter() - started
    results = json.loads(out.read_text()) if out.exists() and not problem else None
    return results, elapsed, problem


def summary(results: dict[str, dict | None], elapsed: dict[str, float], problems: dict[str, str]) -> None:
    rows = []
    poll = results.get("one_poll")
    if poll:
        med = poll["median"]
        rows.append(["1. one poll, 3 nodes, %d streams, %d consumers" % (poll["streams"], poll["consumers"]),
                     f"{med['total'] * 1000:,.0f} ms median (fetch {med['fetch'] * 1000:,.0f} ms, "
                     f"record {med['record'] * 1000:,.0f} ms); /jsz {size(sum(poll['jsz_bytes'].values()))} "
                     "for the 3 nodes"])
    fleet = results.get("fleet")
    if fleet:
        for worker in fleet["workers"]:
            rows.append([f"2. fleet of {fleet['nodes']} nodes, {worker['label']}",
                         f"(b) {worker['median_s']:.2f} s = {worker['median_s'] / fleet['bare_s']:.2f}x (a), "
                         f"{worker['median_s'] / fleet['bare_per_cluster_s']:.1f}x (a2); "
                         f"{'within' if worker['median_s'] <= 5 else 'NOT within'} one 5 s beat"])
        rows.append(["2. bare fetch of the same URLs",
                     f"(a) one client {fleet['bare_s']:.2f} s, (a2) one client per cluster "
                     f"{fleet['bare_per_cluster_s']:.2f} s; recommended worker: {fleet['recommended']}"])
        steady = fleet.get("sustained")
        if steady:
            rows.append(["2. beat cadence (poll_all every 1 s)",
                         f"{steady['polls']:.0f} polls in {steady['seconds']:.0f} s of {steady['expected']:.0f} "
                         f"wanted, {steady['early_polls']:.0f} repeated early, {steady['backlog']} tasks queued"])
    storage = results.get("storage")
    if storage:
        rows.append([f"3. samples of the fleet ({storage['clusters']} clusters)",
                     f"{size(storage['written_per_day_bytes'])} written per day, "
                     f"{size(storage['steady_state_bytes'])} at steady state; "
                     f"{size(storage['physical_written_per_day_bytes'])} of WAL per day"])
    page = results.get("streams_page")
    if page:
        rows.append([f"4. streams page, {page['streams']:,} streams, {page['consumers']:,} consumers",
                     f"page {page['page'] * 1000:.0f} ms, filtered {page['page_filtered'] * 1000:.0f} ms, "
                     f"API {page['api'] * 1000:.0f} ms (target 300 ms); 1 MiB message page "
                     f"{page['message_page'] * 1000:.0f} ms"])
    tail = results.get("tail")
    if tail:
        hose = tail["firehose"]
        rows.append(["5. live tail", f"p50 {tail['latency']['p50_ms']:.0f} ms, p99 {tail['latency']['p99_ms']:.0f} ms "
                     f"at 1,000 msg/s; WebSocket/bare rate {tail['sustained']['ratio']:.2f}; firehose "
                     f"{hose['publish_rate']:,.0f} msg/s: RSS +{hose['rss_growth'] / 1e6:.1f} MB, "
                     f"{hose['frames_per_s']:.1f} frames/s, accounted {hose['accounted']}; "
                     f"{tail['many_viewers']['viewers']} viewers -> "
                     f"{tail['many_viewers']['server_subscriptions']} subscription"])
    for name, problem in problems.items():
        if problem:
            rows.append([f"{name}", f"FAILED: {problem}"])
    rows.append(["time taken", ", ".join(f"{name} {seconds:.0f} s" for name, seconds in elapsed.items())])
    table("Summary", ["benchmark", "figures"], rows, notes=[
        "rerun: make bench   or   .venv/bin/python -m bench [one_poll] [fleet] [storage] [streams_page] [tail]",
        "one benchmark with its options: .venv/bin/python -m bench.<name> --help",
    ])


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    results, elapsed, problems = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="natsdash-bench-run-") as run_dir:
        for name in names:
            results[name], elapsed[name], problems[name] = run(name, Path(run_dir))
    summary(results, elapsed, problems)
    return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
