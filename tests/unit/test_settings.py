"""Bad settings stop start-up with a message that names the variable."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from natsdash import env

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_settings(tmp_path, **variables) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if k not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"}}
    environment.update(DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="natsdash.settings", **variables)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"],
        cwd=PROJECT_DIR, env=environment, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SECRET_KEY", "short"),
        ("DEBUG", "maybe"),
        ("ALLOWED_HOSTS", "https://dash.example.com"),
        ("ALLOWED_HOSTS", "a.example.com,,b.example.com"),
        ("DATABASE_URL", "mysql://root@localhost/natsdash"),
        ("DATABASE_URL", "sqlite:////no/such/directory/natsdash.sqlite3"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("REDIS_URL", "redis://127.0.0.1:port/0"),
        ("CSRF_TRUSTED_ORIGINS", "dash.example.com"),
        ("LOG_LEVEL", "LOUD"),
        ("HEARTBEAT_INTERVAL", "0"),
        ("ALERT_FOR_SECONDS_BY_CHECK", "node.cpu"),
        ("ALERT_FOR_SECONDS_BY_CHECK", "node.cpu=soon"),
        ("ALERT_FOR_SECONDS_BY_CHECK", "node.cpu=-5"),
        ("ALERT_CONSUMER_PENDING_WARNING", "many"),
    ],
)
def test_bad_values_stop_start_up_naming_the_variable(tmp_path, variable, value):
    result = load_settings(tmp_path, **{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert variable in last_line, last_line


def test_defaults_start_with_sqlite_in_the_data_directory_and_a_generated_key(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"
    key_file = tmp_path / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 32
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    # A second start keeps the key (secrets encrypted with it stay readable).
    assert load_settings(tmp_path).returncode == 0
    assert key_file.read_text() == key


def test_good_values_are_accepted(tmp_path):
    result = load_settings(
        tmp_path,
        SECRET_KEY="x" * 50,
        DEBUG="yes",
        ALLOWED_HOSTS="dash.example.com, .internal",
        DATABASE_URL="postgres://natsdash:pw@db.example.com:5432/natsdash",
        REDIS_URL="redis://:pw@cache:6380/2",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.postgresql"


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("On", True), ("no", False), ("FALSE", False)])
def test_env_bool_words(monkeypatch, value, expected):
    monkeypatch.setenv("SOME_FLAG", value)
    assert env.env_bool("SOME_FLAG", default=not expected) is expected


def test_env_bool_default_when_unset_or_blank(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "  ")
    assert env.env_bool("SOME_FLAG", default=True) is True


def test_secret_key_placeholder_refused_outside_debug(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "django-insecure-" + "x" * 40)
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        env.env_secret_key("SECRET_KEY", debug=False, key_file=tmp_path / "k")
    assert env.env_secret_key("SECRET_KEY", debug=True, key_file=tmp_path / "k").startswith("django-insecure")


def test_env_seconds_map(monkeypatch):
    monkeypatch.setenv("SOME_PERIODS", " node.unreachable=30, consumer=0.5 ")
    assert env.env_seconds_map("SOME_PERIODS", {}) == {"node.unreachable": 30.0, "consumer": 0.5}
    monkeypatch.delenv("SOME_PERIODS")
    assert env.env_seconds_map("SOME_PERIODS", {"node": 1.0}) == {"node": 1.0}
