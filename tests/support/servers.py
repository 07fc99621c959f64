"""The app's own processes for tests: Daphne and a Celery worker, started on free ports."""

import os
import sys
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connections

from devstack.ports import free_port, wait_until
from devstack.processes import ManagedProcess

BIN_DIR = Path(sys.executable).parent
PROJECT_DIR = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """DATABASE_URL of the database this test run really uses (the test database)."""
    config = connections["default"].settings_dict
    if config["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{config['NAME']}"
    user = config.get("USER") or ""
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    return (f"postgres://{credentials}{config.get('HOST') or '127.0.0.1'}:"
            f"{config.get('PORT') or 5432}/{config['NAME']}")


def app_env(redis_url: str, **extra: str) -> dict[str, str]:
    """Environment for a child process that shares this test run's database, Redis and key."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "natsdash.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class Daphne:
    def __init__(self, log_dir: Path, redis_url: str):
        self.port = free_port()
        self.process = ManagedProcess(
            "daphne",
            [str(BIN_DIR / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "natsdash.asgi:application"],
            log_path=log_dir / "daphne.log",
            env=app_env(redis_url),
            cwd=PROJECT_DIR,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> "Daphne":
        self.process.start()

        def answers() -> bool:
            if not self.process.running():
                raise RuntimeError(f"daphne exited:\n{self.process.log_tail()}")
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code in (200, 503)

        wait_until(answers, timeout=60, what="Daphne")
        return self

    def stop(self) -> None:
        self.process.stop()
