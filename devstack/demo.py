"""`make demo`: the whole natsdash stack on this machine, stopped by Ctrl-C.

Starts a private Redis, a 3-node NATS cluster with JetStream, a Celery worker and
beat, Daphne, and demo traffic; waits until each is really ready; prints the URL
and the login. Everything lives under the data directory's demo/ folder.
"""

import os
import secrets
import signal
import sys
import time
from pathlib import Path

import httpx

from devstack.nats import ACCOUNTS, SYSTEM_ACCOUNT, NatsCluster
from devstack.ports import pick_port, port_is_free, wait_until
from devstack.processes import ManagedProcess
from devstack.redis_server import RedisServer
from devstack.traffic import READY_LINE

BASE_DIR = Path(__file__).resolve().parent.parent
# Away from the usual 4222/6222/8222/6379 that a machine's own servers hold;
# any port that is taken falls back to a free one.
PREFERRED_NATS_PORTS = (14222, 16222, 18222)
PREFERRED_REDIS_PORT = 16379
ADMIN_USER = "admin"


class Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise Stop(signal.Signals(signum).name)


def admin_password(demo_dir: Path) -> str:
    path = demo_dir / "admin-password"
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(12)
    path.write_text(password)
    path.chmod(0o600)
    return password


def prepare_database(password: str) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=ADMIN_USER)
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()


def demo_provisioning(cluster: NatsCluster) -> str:
    """The demo cluster as a provisioning file, the way a fleet is kept in git."""
    nodes = "".join(f"      - monitor_url: {url}\n" for url in cluster.monitor_urls)
    accounts = "".join(f"      - {{name: {a.name}, user: {a.user}, password: {a.password}}}\n"
                       for a in ACCOUNTS if a is not SYSTEM_ACCOUNT)
    return (
        "clusters:\n"
        f"  - name: {cluster.name}\n"
        f"    nats_urls: [{', '.join(cluster.client_urls)}]\n"
        "    nodes:\n"
        f"{nodes}"
        f"    system_account: {{name: {SYSTEM_ACCOUNT.name}, user: {SYSTEM_ACCOUNT.user}, "
        f"password: {SYSTEM_ACCOUNT.password}}}\n"
        "    accounts:\n"
        f"{accounts}"
    )


def register_demo_cluster(cluster: NatsCluster, demo_dir: Path) -> None:
    from django.core.management import call_command

    path = demo_dir / "provision.yaml"
    path.write_text(demo_provisioning(cluster))
    path.chmod(0o600)
    call_command("provision", str(path), verbosity=0, stdout=open(os.devnull, "w"))


def worker_answers() -> bool:
    from natsdash.celery import app

    return bool(app.control.ping(timeout=1.0))


def main() -> int:
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    started_at = time.monotonic()
    web_port = int(os.environ.get("PORT", "8000"))
    if not port_is_free(web_port):
        print(f"Port {web_port} is in use. Run `PORT=8001 make demo` (any free port) instead.",
              file=sys.stderr)
        return 2

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "natsdash.settings")
    from django.conf import settings  # reads the environment; bad values stop here

    demo_dir = settings.DATA_DIR / "demo"
    logs = demo_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for old_log in logs.glob("*.log"):
        old_log.unlink()
    taken = {web_port}
    redis_server = RedisServer(demo_dir / "redis", pick_port(PREFERRED_REDIS_PORT, taken))
    cluster = NatsCluster(demo_dir / "nats", size=3, name="demo",
                          preferred_ports=PREFERRED_NATS_PORTS, taken=taken)
    processes: dict[str, ManagedProcess] = {}
    try:
        print("Starting Redis and a 3-node NATS cluster…", flush=True)
        redis_server.start()
        os.environ["REDIS_URL"] = redis_server.url
        settings.REDIS_URL = redis_server.url
        settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = redis_server.url
        from natsdash.celery import app as celery_app

        celery_app.conf.broker_url = celery_app.conf.result_backend = redis_server.url
        cluster.start(timeout=60)

        print("Preparing the database…", flush=True)
        password = admin_password(demo_dir)
        prepare_database(password)
        register_demo_cluster(cluster, demo_dir)

        env = {**os.environ, "REDIS_URL": redis_server.url, "PYTHONUNBUFFERED": "1"}
        bin_dir = Path(sys.executable).parent
        commands = {
            "worker": [str(bin_dir / "celery"), "-A", "natsdash", "worker", "--loglevel=INFO",
                       "--concurrency=2", "--hostname=demo-worker@%h"],
            "beat": [str(bin_dir / "celery"), "-A", "natsdash", "beat", "--loglevel=INFO",
                     f"--pidfile={demo_dir / 'beat.pid'}"],
            "web": [str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(web_port),
                    "natsdash.asgi:application"],
            "traffic": [sys.executable, "-m", "devstack.traffic", "--servers",
                        ",".join(cluster.client_urls), "--rate", "4"],
        }
        print("Starting the Celery worker and beat, Daphne and demo traffic…", flush=True)
        for name, argv in commands.items():
            processes[name] = ManagedProcess(name, argv, log_path=logs / f"{name}.log",
                                             env=env, cwd=BASE_DIR).start()

        url = f"http://127.0.0.1:{web_port}/"

        def healthz() -> dict | None:
            response = httpx.get(f"{url}healthz", timeout=2.0)
            return response.json() if response.status_code == 200 else None

        def check_alive() -> None:
            for process in processes.values():
                if not process.running():
                    raise RuntimeError(f"{process.name} exited:\n{process.log_tail()}")

        wait_until(lambda: check_alive() or healthz() is not None, timeout=60, what="Daphne")
        wait_until(lambda: check_alive() or worker_answers(), timeout=60, what="Celery worker")
        wait_until(lambda: check_alive() or healthz()["scheduler"]["fresh"], timeout=60,
                   what="Celery beat")
        wait_until(lambda: check_alive() or READY_LINE in processes["traffic"].log_tail(), timeout=120,
                   what="Demo streams and traffic")
        elapsed = time.monotonic() - started_at
        print_banner(url, password, cluster, redis_server, logs, elapsed)

        while True:
            check_alive()
            time.sleep(1)
    except Stop:
        print("\nStopping…", flush=True)
        return 0
    except (RuntimeError, TimeoutError) as exc:
        print(f"\nmake demo failed: {exc}\nLogs: {logs}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the clean-up
        for process in reversed(processes.values()):
            process.stop()
        cluster.stop()
        redis_server.stop()
        print("Stopped everything the demo started.", flush=True)


def print_banner(url, password, cluster, redis_server, logs, elapsed) -> None:
    accounts = ", ".join(f"{a.name} ({a.user}/{a.password})" for a in ACCOUNTS)
    print(f"""
natsdash demo is ready after {elapsed:.1f}s (cluster "demo" is registered and polled every few seconds)

  Open     {url}
  User     {ADMIN_USER}
  Password {password}

  NATS cluster "demo", 3 nodes with JetStream
    clients     {", ".join(cluster.client_urls)}
    monitoring  {", ".join(cluster.monitor_urls)}
    accounts    {accounts}
  Redis       {redis_server.url}
  Logs        {logs}

Press Ctrl-C to stop everything.
""", flush=True)


if __name__ == "__main__":
    sys.exit(main())
