"""A real `celery -A natsdash worker` process for the tests and the benchmarks."""

from __future__ import annotations

import sys
from pathlib import Path

from devstack.ports import free_port, wait_until
from devstack.processes import ManagedProcess

PROJECT_DIR = Path(__file__).resolve().parents[1]


class CeleryWorker:
    """Ready once it answers a ping addressed to its own hostname, so another worker on the same
    broker cannot stand in for it."""

    def __init__(self, *, log_path: Path, env: dict[str, str], pool: str = "prefork", concurrency: int = 1,
                 name: str = "celery-worker"):
        self.pool, self.concurrency = pool, concurrency
        self.label = f"--pool={pool} --concurrency={concurrency}"
        self.hostname = f"{name}-{free_port()}@localhost"
        self.process = ManagedProcess(
            name,
            [str(Path(sys.executable).parent / "celery"), "-A", "natsdash", "worker", "--loglevel=INFO",
             f"--pool={pool}", f"--concurrency={concurrency}", f"--hostname={self.hostname}",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            log_path=log_path,
            env=env,
            cwd=PROJECT_DIR,
        )

    def start(self, timeout: float = 60.0) -> "CeleryWorker":
        from natsdash.celery import app

        self.process.start()

        def answers() -> bool:
            if not self.process.running():
                raise RuntimeError(f"celery worker exited:\n{self.process.log_tail()}")
            replies = app.control.ping(destination=[self.hostname], timeout=1.0)
            return any(self.hostname in reply for reply in replies)

        wait_until(answers, timeout=timeout, interval=0.3, what=f"Celery worker {self.label}")
        return self

    def stop(self) -> None:
        self.process.stop()
