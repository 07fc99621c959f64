"""Fixtures that start real servers on free ports: Redis, a NATS cluster, Daphne, a Celery worker, Chromium."""

from pathlib import Path

import pytest
from django.test import override_settings

from devstack.celery_worker import CeleryWorker
from devstack.nats import NatsCluster
from devstack.ports import free_port
from devstack.redis_server import RedisServer
from tests.support.servers import Daphne, app_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def servers_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings, tmp_path_factory):
    """SQLite test databases live in a file, so Daphne and workers in other processes share them."""
    from django.conf import settings

    config = settings.DATABASES["default"]
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session", autouse=True)
def redis_server(servers_dir):
    """A private Redis for the whole run; Django, Channels and Celery in this process point at it."""
    server = RedisServer(servers_dir / "redis", free_port()).start()
    from natsdash.celery import app

    app.conf.broker_url = app.conf.result_backend = server.url
    overrides = override_settings(
        REDIS_URL=server.url,
        CELERY_BROKER_URL=server.url,
        CELERY_RESULT_BACKEND=server.url,
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [server.url], "prefix": "natsdash"},
            }
        },
    )
    overrides.enable()
    yield server
    overrides.disable()
    server.stop()


@pytest.fixture(scope="module")
def nats_cluster(tmp_path_factory):
    """A real 3-node NATS cluster with JetStream, formed before the first test of the module."""
    cluster = NatsCluster(tmp_path_factory.mktemp("nats"), size=3, name="test").start(timeout=60)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def daphne_server(django_db_setup, django_db_blocker, redis_server, servers_dir):
    """natsdash served by a real Daphne over the test database."""
    server = Daphne(servers_dir, redis_server.url).start()
    yield server
    server.stop()


@pytest.fixture
def celery_worker(django_db_setup, redis_server, servers_dir):
    """A worker for one test, stopped before the test's database is reset: a task it is still
    running (a webhook retry, say) would otherwise write while the next test's tables are
    truncated, which deadlocks on PostgreSQL. Tasks queued by tests that ran without a worker
    are purged before it starts."""
    from natsdash.celery import app

    app.control.purge()
    worker = CeleryWorker(log_path=servers_dir / "celery-worker.log", env=app_env(redis_server.url)).start()
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def chromium(daphne_server):
    """Chromium for one test module. Playwright's sync API keeps an event loop marked as
    running in this thread, so Django's guard against sync database calls from async code
    is lifted while it lives (the tests' own ORM calls are plain synchronous code)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def page(daphne_server, chromium):
    context = chromium.new_context(base_url=daphne_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def make_user(django_user_model):
    def make(username: str = "alice", password: str = "a-long-test-password", **fields):
        return django_user_model.objects.create_user(username=username, password=password, **fields)

    return make


def pytest_collection_modifyitems(items):
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()) or "page" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


