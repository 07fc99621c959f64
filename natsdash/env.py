"""Read settings from the environment, refusing bad values loudly.

Every helper raises ImproperlyConfigured naming the variable, so a typo in a
deployment stops the process at start-up instead of surfacing later.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}
DATABASE_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql"}
REDIS_SCHEMES = {"redis", "rediss", "unix"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean: use one of true/false, yes/no, on/off, 1/0"
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below its minimum of {minimum}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number:g} is below its minimum of {minimum:g}")
    return number


def env_hosts(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of host names as Django's ALLOWED_HOSTS expects."""
    value = _raw(name)
    if value is None:
        return default
    hosts = [part.strip() for part in value.split(",")]
    for host in hosts:
        if not host:
            raise ImproperlyConfigured(f"{name}={value!r} has an empty entry")
        if "://" in host or "/" in host or " " in host:
            raise ImproperlyConfigured(
                f"{name} entry {host!r} is not a host name (no scheme, path or spaces)"
            )
    return hosts


def env_origins(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of origins such as https://dash.example.com."""
    value = _raw(name)
    if value is None:
        return default
    origins = [part.strip() for part in value.split(",")]
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ImproperlyConfigured(
                f"{name} entry {origin!r} is not an origin like https://dash.example.com"
            )
    return origins


def env_database(name: str, default_sqlite_path: Path) -> dict:
    value = _raw(name)
    if value is None:
        value = f"sqlite:///{default_sqlite_path}"
    scheme = urlsplit(value).scheme
    if scheme not in DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} has scheme {scheme!r}; natsdash supports sqlite:///PATH "
            "and postgres://USER:PASSWORD@HOST:PORT/NAME"
        )
    try:
        config = dj_database_url.parse(value, conn_max_age=0)
    except Exception as exc:  # dj-database-url raises several types
        raise ImproperlyConfigured(f"{name} cannot be parsed: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} names no database")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        path = Path(config["NAME"])
        if not path.parent.is_dir():
            raise ImproperlyConfigured(
                f"{name} points to {path}, whose directory {path.parent} does not exist"
            )
        # Several processes (web, worker, beat) share the file: wait for locks
        # instead of failing, and take the write lock when a transaction starts.
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


def env_redis_url(name: str, default: str) -> str:
    value = _raw(name) or default
    parts = urlsplit(value)
    if parts.scheme not in REDIS_SCHEMES:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a Redis URL like redis://HOST:PORT/DB"
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise ImproperlyConfigured(f"{name}={value!r} names no host")
    try:
        parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} has an invalid port") from None
    return value


def env_secret_key(name: str, *, debug: bool, key_file: Path) -> str:
    """SECRET_KEY from the environment, or a key generated once into the data directory."""
    value = _raw(name)
    if value is not None:
        if len(value) < 32:
            raise ImproperlyConfigured(f"{name} is too short: use at least 32 characters")
        if value.startswith("django-insecure") and not debug:
            raise ImproperlyConfigured(f"{name} is Django's insecure placeholder; set a real key")
        return value
    if key_file.exists():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # Write to a private temporary file, then link it into place: when several
    # processes start at once, exactly one key wins and all of them read it.
    scratch = key_file.with_name(f".{key_file.name}.{os.getpid()}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    try:
        os.link(scratch, key_file)
    except FileExistsError:
        pass
    finally:
        scratch.unlink()
    return key_file.read_text().strip()


def env_log_level(name: str, default: str) -> str:
    value = (_raw(name) or default).upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
        )
    return value


def env_path(name: str, default: Path) -> Path:
    value = _raw(name)
    return Path(value).expanduser().resolve() if value else default


def env_seconds_map(name: str, default: dict[str, float]) -> dict[str, float]:
    """Comma-separated NAME=SECONDS pairs such as "node.unreachable=60,node.restarted=0"."""
    value = _raw(name)
    if value is None:
        return dict(default)
    result = {}
    for part in value.split(","):
        key, sep, seconds = part.partition("=")
        key, seconds = key.strip(), seconds.strip()
        if not sep or not key or not all(c.isalnum() or c in "._-" for c in key):
            raise ImproperlyConfigured(f"{name} entry {part.strip()!r} is not NAME=SECONDS")
        try:
            number = float(seconds)
        except ValueError:
            raise ImproperlyConfigured(f"{name} entry {part.strip()!r}: {seconds!r} is not a number") from None
        if number < 0:
            raise ImproperlyConfigured(f"{name} entry {part.strip()!r} is negative")
        result[key] = number
    return result


def env_http_url(name: str, default: str) -> str:
    """An http:// or https:// address such as https://dash.example.com (no trailing slash kept)."""
    value = _raw(name) or default
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name}={value!r} is not an address like https://dash.example.com")
    return value.rstrip("/")
