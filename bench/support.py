"""What the benchmarks share: a throwaway workspace, Django on a fresh database in it, a
private Redis, a Celery worker, a NATS cluster filled with streams, and printed tables.

Everything runs on free 127.0.0.1 ports and under a temporary directory; the project's
data/ directory, and servers this module did not start, are never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack.nats import NatsCluster
from devstack.ports import free_port, wait_until
from devstack.redis_server import RedisServer

BIN_DIR = Path(sys.executable).parent
PROJECT_DIR = Path(__file__).resolve().parents[1]
JETSTREAM_ACCOUNT = "TEAM_A"  # user a / password a-secret in devstack.nats
ENDPOINTS = ("varz", "routez", "gatewayz", "leafz", "healthz", "jsz", "accstatz")
QUERIES = {"jsz": None, "accstatz": "unused=1"}  # jsz: JSZ_PARAMS, below


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- workspace and Django -------------------------------------------------------------------


def _stop_on_sigterm(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


class Workspace(contextlib.ExitStack):
    """A temporary directory plus everything started in it, stopped in reverse order on exit,
    also when the benchmark is stopped with SIGTERM (as `python -m bench` does at its time limit)."""

    def __init__(self, name: str):
        super().__init__()
        self.path = Path(tempfile.mkdtemp(prefix=f"natsdash-bench-{name}-"))
        self.keep = os.environ.get("BENCH_KEEP") == "1"  # keep logs and databases to look into
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop_on_sigterm)

    def __exit__(self, *exc_info):
        try:
            return super().__exit__(*exc_info)
        finally:
            if self.keep:
                log(f"kept {self.path}")
            else:
                shutil.rmtree(self.path, ignore_errors=True)

    def start(self, server, *args, **kwargs):
        """server.start(*args) and its stop() registered for the exit, even when start fails."""
        self.callback(server.stop)
        return server.start(*args, **kwargs)


def django_env(workdir: Path, redis_url: str | None) -> dict[str, str]:
    """Environment for natsdash code (this process and children) on a database in workdir."""
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    if data_dir.resolve() == (PROJECT_DIR / "data").resolve():
        raise RuntimeError("the benchmarks never use the project's data directory")
    return {
        "DJANGO_SETTINGS_MODULE": "natsdash.settings",
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'bench.sqlite3'}",
        # Without a Redis of its own a benchmark points at a port nothing listens on.
        "REDIS_URL": redis_url or f"redis://127.0.0.1:{free_port()}/0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def setup_django(workdir: Path, redis_url: str | None = None) -> dict[str, str]:
    """Point this process's natsdash at a fresh, migrated SQLite database under workdir.
    Must run before anything imports Django settings; returns the environment it set."""
    if "django.conf" in sys.modules:
        from django.conf import settings

        if settings.configured:
            raise RuntimeError("Django is already configured in this process")
    env = django_env(workdir, redis_url)
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    return env


def database_path() -> Path:
    from django.conf import settings

    return Path(settings.DATABASES["default"]["NAME"])


# -- Redis and a Celery worker -----------------------------------------------------------------


def start_redis(workspace: Workspace) -> RedisServer:
    return workspace.start(RedisServer(workspace.path / "redis", free_port()))


# -- a NATS cluster with streams -------------------------------------------------------------


@dataclass(frozen=True)
class JetStreamLoad:
    streams: int
    consumers_per_stream: int
    r3_every: int  # every n-th stream has three replicas, the others one (0: none)
    messages_per_stream: int
    stream_prefix: str = "ORDERS"

    def stream_name(self, index: int) -> str:
        return f"{self.stream_prefix}_{index:04d}"

    @property
    def consumers(self) -> int:
        return self.streams * self.consumers_per_stream


CONSUMER_NAMES = ("processor", "auditor", "archiver", "indexer")


async def create_streams(cluster: NatsCluster, load: JetStreamLoad, parallel: int = 32) -> None:
    """Streams, durable pull consumers and a few messages in TEAM_A, through nats-py."""
    import nats
    import nats.errors
    import nats.js.errors
    from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

    account = cluster.account(JETSTREAM_ACCOUNT)
    nc = await asyncio.wait_for(nats.connect(
        servers=cluster.client_urls, user=account.user, password=account.password,
        connect_timeout=5, max_reconnect_attempts=3), timeout=20)
    gate = asyncio.Semaphore(parallel)

    async def publish(subject: str, payload: bytes) -> None:
        # A new stream's subject interest takes a moment to reach the other nodes' routes.
        for attempt in range(50):
            try:
                await js.publish(subject, payload)
                return
            except (nats.errors.NoRespondersError, nats.js.errors.NoStreamResponseError):
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)

    async def one(index: int) -> None:
        name = load.stream_name(index)
        replicas = 3 if load.r3_every and index % load.r3_every == 0 else 1
        subject = name.lower().replace("_", ".")
        async with gate:
            await js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.FILE,
                                             num_replicas=replicas))
            for number in range(load.messages_per_stream):
                await publish(f"{subject}.created", json.dumps({"n": number}).encode())
            for consumer in CONSUMER_NAMES[:load.consumers_per_stream]:
                await js.add_consumer(name, ConsumerConfig(durable_name=consumer,
                                                           ack_policy=AckPolicy.EXPLICIT))

    try:
        js = nc.jetstream(timeout=30)
        await asyncio.gather(*(one(index) for index in range(load.streams)))
    finally:
        await nc.close()


def jsz_counts(cluster: NatsCluster) -> tuple[int, int]:
    """(streams, consumers) as the stream leaders report them through /jsz."""
    streams = consumers = 0
    with httpx.Client(timeout=10.0) as client:
        for base in cluster.monitor_urls:
            body = client.get(f"{base}/jsz", params={
                "accounts": "true", "streams": "true", "consumers": "true",
                "stream-leader-only": "true"}).json()
            for account in body.get("account_details") or []:
                for stream in account.get("stream_detail") or []:
                    streams += 1
                    consumers += len(stream.get("consumer_detail") or [])
    return streams, consumers


def start_loaded_cluster(workspace: Workspace, load: JetStreamLoad, *, name: str,
                         node_prefix: str = "n") -> NatsCluster:
    """A 3-node cluster holding `load`, settled: every stream and consumer is led by a node."""
    started = time.perf_counter()
    cluster = workspace.start(NatsCluster(workspace.path / name, size=3, name=name, node_prefix=node_prefix),
                              timeout=60)
    asyncio.run(create_streams(cluster, load))
    wait_until(lambda: jsz_counts(cluster) == (load.streams, load.consumers), timeout=60, interval=0.5,
               what=f"{load.streams} streams and {load.consumers} consumers led")
    log(f"cluster {name}: {load.streams} streams, {load.consumers} consumers ready "
        f"in {time.perf_counter() - started:.1f}s")
    return cluster


# -- the fleet's recording --------------------------------------------------------------------

RECORDED_CLUSTER = "benchrec"  # names unlikely to appear anywhere else in the JSON
RECORDED_PREFIX = "benchrec-n"
FLEET_LOAD = JetStreamLoad(streams=10, consumers_per_stream=2, r3_every=5, messages_per_stream=5)
JSZ_PARAMS = "accounts=true&streams=true&consumers=true&config=true&stream-leader-only=true"


def endpoint_query(endpoint: str) -> str:
    return JSZ_PARAMS if endpoint == "jsz" else QUERIES[endpoint]


# What a poll asks of a server without gateways or leafnodes (it skips /gatewayz and /leafz there).
POLLED_ENDPOINTS = ("varz", "routez", "healthz", "jsz", "accstatz")


def endpoint_url(base: str, endpoint: str) -> str:
    return f"{base}/{endpoint}" + (f"?{endpoint_query(endpoint)}" if endpoint in QUERIES else "")


def fleet_recording(directory: Path, load: JetStreamLoad = FLEET_LOAD) -> Path:
    """Every endpoint of a real 3-node cluster holding `load`, as <directory>/<server>/<endpoint>.json;
    recorded here (once) from a cluster started for it, never fetched from elsewhere."""
    manifest = directory / "recording.json"
    if manifest.exists():
        return directory
    with Workspace("record") as workspace:
        cluster = start_loaded_cluster(workspace, load, name=RECORDED_CLUSTER, node_prefix=RECORDED_PREFIX)
        time.sleep(1.0)  # a round of heartbeats: rtt and "current" replicas settle
        with httpx.Client(timeout=10.0) as client:
            for server, base in zip(cluster.node_names, cluster.monitor_urls):
                for endpoint in ENDPOINTS:
                    query = f"?{endpoint_query(endpoint)}" if endpoint in QUERIES else ""
                    response = client.get(f"{base}/{endpoint}{query}")
                    path = directory / server / f"{endpoint}.json"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(json.dumps(response.json(), indent=1, sort_keys=True) + "\n")
    manifest.write_text(json.dumps({
        "cluster": RECORDED_CLUSTER, "nodes": [f"{RECORDED_PREFIX}{i + 1}" for i in range(3)],
        "streams": load.streams, "consumers": load.consumers, "r3_every": load.r3_every}, indent=1) + "\n")
    return directory


def recording_counts(directory: Path) -> dict[str, int]:
    """Nodes, streams and consumers of one recorded cluster, counted from its /jsz JSON."""
    nodes = json.loads((directory / "recording.json").read_text())["nodes"]
    streams = consumers = 0
    for node in nodes:
        jsz = json.loads((directory / node / "jsz.json").read_text())
        for account in jsz.get("account_details") or []:
            for stream in account.get("stream_detail") or []:
                streams += 1
                consumers += len(stream.get("consumer_detail") or [])
    return {"nodes": len(nodes), "streams": streams, "consumers": consumers}


# -- CPU accounting -----------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of the live processes of a process group (a ManagedProcess's)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


def machine_cpu_seconds() -> dict[str, float]:
    """Machine-wide CPU seconds so far: busy (user, system, interrupts) and steal (taken by the host)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return {"busy": (user + nice + system + irq + softirq) / _TICK, "steal": steal / _TICK,
            "total": sum(values[:8]) / _TICK}


# -- figures and tables -------------------------------------------------------------------------


def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f} ms"


def size(count: float) -> str:
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= factor:
            return f"{count / factor:,.1f} {unit}"
    return f"{count:,.0f} B"


def table(title: str, headers: list[str], rows: list[list], notes: list[str] = ()) -> None:
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

    print(f"\n{title}")
    print("=" * len(title))
    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))
    for note in notes:
        print(f"  {note}")
    sys.stdout.flush()


def save_results(path: str | None, results: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(results, indent=1, default=str) + "\n")
