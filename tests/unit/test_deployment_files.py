"""docker-compose.yml, .env.example, the README and the settings stay consistent.

No Docker engine runs here, so the compose file is checked by reading it: its
services and commands, and its app environment fed through the real settings helpers.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

from devstack.nats import ACCOUNTS
from natsdash import env

PROJECT_DIR = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
COMPOSE_TEXT = (PROJECT_DIR / "docker-compose.yml").read_text()
ENV_EXAMPLE = (PROJECT_DIR / ".env.example").read_text()
README = (PROJECT_DIR / "README.md").read_text()
NATS_CONF = (PROJECT_DIR / "deploy" / "nats" / "nats.conf").read_text()
NATS_SERVICES = ("nats-1", "nats-2", "nats-3")
APP_SERVICES = ("web", "worker", "beat")


def settings_variables() -> set[str]:
    source = (PROJECT_DIR / "natsdash" / "settings.py").read_text()
    return set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', source))


def documented_variables() -> set[str]:
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE, flags=re.MULTILINE))


def example_values() -> dict[str, str]:
    return dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", ENV_EXAMPLE, flags=re.MULTILINE))


def interpolate(value: str, values: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, read from .env.example."""
    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in values and values[name] != "":
            return values[name]
        if op == ":-":
            return arg
        raise AssertionError(f"{name} is required by compose but .env.example gives no value")

    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}", one, str(value))


def test_compose_has_the_documented_services():
    assert set(COMPOSE["services"]) == {"postgres", "redis", *NATS_SERVICES, *APP_SERVICES}


def test_app_services_run_the_asgi_app_the_worker_and_beat():
    services = COMPOSE["services"]
    web = " ".join(services["web"]["command"])
    assert f"daphne -b 0.0.0.0 -p 8000 {settings.ASGI_APPLICATION.replace('.application', ':application')}" in web
    assert "manage.py migrate" in web
    assert services["worker"]["command"][:4] == ["celery", "-A", "natsdash", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "natsdash", "beat"]
    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"
    for name in APP_SERVICES:
        assert services[name]["build"] == "."
    assert (PROJECT_DIR / "Dockerfile").exists()


def test_app_environment_is_what_the_settings_read_and_accept(monkeypatch, tmp_path):
    values = example_values()
    read_by_settings = settings_variables()
    for name in APP_SERVICES:
        environment = COMPOSE["services"][name]["environment"]
        assert set(environment) <= read_by_settings, set(environment) - read_by_settings
        assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"} <= set(environment)
    environment = {k: interpolate(v, values) for k, v in COMPOSE["services"]["web"]["environment"].items()}
    for key, value in environment.items():
        monkeypatch.setenv(key, value)

    assert urlsplit(environment["DATABASE_URL"]).hostname == "postgres"
    assert urlsplit(environment["REDIS_URL"]).hostname == "redis"
    database = env.env_database("DATABASE_URL", tmp_path / "unused.sqlite3")
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["PASSWORD"] == values["POSTGRES_PASSWORD"]
    assert env.env_redis_url("REDIS_URL", "redis://unused") == "redis://redis:6379/0"
    debug = env.env_bool("DEBUG", True)
    assert debug is False
    env.env_secret_key("SECRET_KEY", debug=debug, key_file=tmp_path / "unused")
    env.env_hosts("ALLOWED_HOSTS", [])
    env.env_origins("CSRF_TRUSTED_ORIGINS", [])
    env.env_log_level("LOG_LEVEL", "INFO")
    env.env_int("HEARTBEAT_INTERVAL", 5, minimum=1)


def test_every_variable_is_documented_in_env_example_and_readme():
    referenced_by_compose = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE_TEXT))
    variables = settings_variables() | referenced_by_compose | {"PORT"}
    assert variables <= documented_variables(), variables - documented_variables()
    for name in variables:
        assert f"`{name}`" in README, f"{name} missing from the README's configuration table"


@pytest.mark.parametrize("name", NATS_SERVICES)
def test_nats_nodes_form_one_routed_jetstream_cluster(name):
    service = COMPOSE["services"][name]
    assert service["environment"]["SERVER_NAME"] == name
    assert "./deploy/nats/nats.conf:/etc/nats/nats.conf:ro" in service["volumes"]
    assert service["command"] == ["--config", "/etc/nats/nats.conf"]
    routes = set(re.findall(r"nats-route://([\w-]+):6222", NATS_CONF))
    assert routes == set(NATS_SERVICES)
    assert "server_name: $SERVER_NAME" in NATS_CONF
    assert re.search(r"^jetstream \{", NATS_CONF, flags=re.MULTILINE)
    assert "http: 0.0.0.0:8222" in NATS_CONF
    for variable in re.findall(r"\$(NATS_[A-Z_]+)", NATS_CONF):
        assert variable in service["environment"]


def test_compose_cluster_has_the_demo_account_layout():
    accounts = set(re.findall(r"^  ([A-Z_]+): \{", NATS_CONF, flags=re.MULTILINE))
    assert accounts == {account.name for account in ACCOUNTS}
    assert "system_account: SYS" in NATS_CONF
