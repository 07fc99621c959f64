"""Read a provisioning YAML file into a validated plan. No database access here:
services.apply_provision writes the plan, all or nothing.

Errors name the file, the key path and the problem, e.g.
    fleet.yaml: clusters[0].system_account.password: environment variable SYS_PASSWORD is not set
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from clusters.models import Role, name_validator

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
NAME = re.compile(name_validator.regex.pattern)
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9_$.-]{1,200}$")
CLIENT_SCHEMES = {"nats", "tls", "ws", "wss"}
MONITOR_SCHEMES = {"http", "https"}
CREDENTIAL_KEYS = {"user", "password", "token", "nkey_seed", "creds", "creds_file", "tls"}
TLS_KEYS = {"ca_file", "cert_file", "key_file"}


class ProvisionError(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Credentials:
    user: str = ""
    password: str = ""
    token: str = ""
    nkey_seed: str = ""
    creds: str = ""
    creds_file: str = ""
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""


@dataclass(frozen=True)
class AccountPlan:
    name: str
    is_system: bool
    credentials: Credentials


@dataclass(frozen=True)
class ClusterPlan:
    name: str
    nats_urls: tuple[str, ...]
    monitor_urls: tuple[str, ...]
    poll_interval: int | None
    accounts: tuple[AccountPlan, ...]


@dataclass(frozen=True)
class UserPlan:
    username: str
    password: str
    superuser: bool
    email: str = ""


@dataclass(frozen=True)
class TeamPlan:
    name: str
    grants: tuple[tuple[str, str], ...]  # (cluster, account)
    members: tuple[tuple[str, str], ...]  # (username, role)


@dataclass(frozen=True)
class ProvisionPlan:
    users: tuple[UserPlan, ...] = ()
    clusters: tuple[ClusterPlan, ...] = ()
    teams: tuple[TeamPlan, ...] = ()


@dataclass
class _Reader:
    """Walks the parsed YAML, collecting every problem instead of stopping at the first."""

    source: str
    environ: dict
    problems: list[str] = field(default_factory=list)

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")

    def mapping(self, value, path: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping, found {_kind(value)}")
            return {}
        for key in value:
            if key not in allowed:
                self.problem(f"{path}.{key}" if path else str(key),
                             f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required - set(value)):
            self.problem(f"{path}.{key}" if path else key, "is required")
        return value

    def sequence(self, value, path: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, f"expected a list, found {_kind(value)}")
            return []
        return value

    def text(self, value, path: str, *, required: bool = False) -> str:
        if value is None:
            if required:
                self.problem(path, "is required")
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.problem(path, f"expected text, found {_kind(value)}")
            return ""
        text = self.interpolate(str(value), path)
        if required and not text:
            self.problem(path, "must not be empty")
        return text

    def interpolate(self, text: str, path: str) -> str:
        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name not in self.environ:
                self.problem(path, f"environment variable {name} is not set")
                return ""
            return self.environ[name]

        return VARIABLE.sub(replace, text)


def _kind(value) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", type(None): "nothing"}.get(
        type(value), type(value).__name__)


def load_plan(path: str | Path, environ: dict | None = None) -> ProvisionPlan:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ProvisionError([f"{path}: cannot be read: {exc.strerror}"]) from None
    return parse_plan(text, source=str(path), environ=os.environ if environ is None else environ)


def parse_plan(text: str, *, source: str, environ: dict) -> ProvisionPlan:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProvisionError([f"{source}: {where}invalid YAML: {problem}"]) from None
    reader = _Reader(source=source, environ=environ)
    if document is None:
        document = {}
    top = reader.mapping(document, "", {"users", "clusters", "teams"})
    users = tuple(_user(reader, item, f"users[{i}]") for i, item in enumerate(reader.sequence(top.get("users"), "users")))
    clusters = tuple(_cluster(reader, item, f"clusters[{i}]")
                     for i, item in enumerate(reader.sequence(top.get("clusters"), "clusters")))
    teams = tuple(_team(reader, item, f"teams[{i}]") for i, item in enumerate(reader.sequence(top.get("teams"), "teams")))
    _check_duplicates(reader, "users", [u.username for u in users])
    _check_duplicates(reader, "clusters", [c.name for c in clusters])
    _check_duplicates(reader, "teams", [t.name for t in teams])
    if reader.problems:
        raise ProvisionError(reader.problems)
    return ProvisionPlan(users=users, clusters=clusters, teams=teams)


def _check_duplicates(reader: _Reader, path: str, names: list[str]) -> None:
    seen = set()
    for index, name in enumerate(names):
        if name and name in seen:
            reader.problem(f"{path}[{index}]", f"{name!r} appears more than once")
        seen.add(name)


def _user(reader: _Reader, item, path: str) -> UserPlan:
    data = reader.mapping(item, path, {"username", "password", "superuser", "email"}, {"username", "password"})
    superuser = data.get("superuser", False)
    if not isinstance(superuser, bool):
        reader.problem(f"{path}.superuser", "expected true or false")
        superuser = False
    return UserPlan(
        username=reader.text(data.get("username"), f"{path}.username", required="username" in data),
        password=reader.text(data.get("password"), f"{path}.password", required="password" in data),
        superuser=superuser,
        email=reader.text(data.get("email"), f"{path}.email"),
    )


def _urls(reader: _Reader, value, path: str, schemes: set[str]) -> tuple[str, ...]:
    urls = []
    for index, item in enumerate(reader.sequence(value, path)):
        url = reader.text(item, f"{path}[{index}]", required=True)
        parts = urlsplit(url)
        if url and (parts.scheme not in schemes or not parts.hostname):
            reader.problem(f"{path}[{index}]", f"{url!r} is not a URL like {sorted(schemes)[0]}://host:port")
        urls.append(url)
    return tuple(urls)


def _cluster(reader: _Reader, item, path: str) -> ClusterPlan:
    data = reader.mapping(item, path, {"name", "nats_urls", "nodes", "poll_interval", "system_account", "accounts"},
                          {"name", "nodes"})
    name = reader.text(data.get("name"), f"{path}.name", required="name" in data)
    if name and not NAME.match(name):
        reader.problem(f"{path}.name", f"{name!r}: {name_validator.message}")
    monitor_urls = []
    for index, node in enumerate(reader.sequence(data.get("nodes"), f"{path}.nodes")):
        node_data = reader.mapping(node, f"{path}.nodes[{index}]", {"monitor_url"}, {"monitor_url"})
        if "monitor_url" in node_data:
            monitor_urls.extend(_urls(reader, [node_data["monitor_url"]], f"{path}.nodes[{index}].monitor_url",
                                      MONITOR_SCHEMES))
    if "nodes" in data and not monitor_urls and isinstance(data.get("nodes"), list):
        reader.problem(f"{path}.nodes", "needs at least one node")
    _check_duplicates(reader, f"{path}.nodes", monitor_urls)
    poll_interval = data.get("poll_interval")
    if poll_interval is not None and (isinstance(poll_interval, bool) or not isinstance(poll_interval, int)
                                      or poll_interval < 1):
        reader.problem(f"{path}.poll_interval", "expected a whole number of seconds, at least 1")
        poll_interval = None
    accounts = []
    if data.get("system_account") is not None:
        accounts.append(_account(reader, data["system_account"], f"{path}.system_account", is_system=True))
    for index, account in enumerate(reader.sequence(data.get("accounts"), f"{path}.accounts")):
        accounts.append(_account(reader, account, f"{path}.accounts[{index}]", is_system=False))
    _check_duplicates(reader, f"{path}.accounts", [a.name for a in accounts])
    return ClusterPlan(
        name=name,
        nats_urls=_urls(reader, data.get("nats_urls"), f"{path}.nats_urls", CLIENT_SCHEMES),
        monitor_urls=tuple(monitor_urls),
        poll_interval=poll_interval,
        accounts=tuple(accounts),
    )


def _account(reader: _Reader, item, path: str, *, is_system: bool) -> AccountPlan:
    data = reader.mapping(item, path, {"name"} | CREDENTIAL_KEYS, {"name"})
    name = reader.text(data.get("name"), f"{path}.name", required="name" in data)
    if name and not ACCOUNT_NAME.match(name):
        reader.problem(f"{path}.name", f"{name!r} is not a valid account name")
    values = {key: reader.text(data.get(key), f"{path}.{key}") for key in CREDENTIAL_KEYS - {"tls"}}
    tls = reader.mapping(data["tls"], f"{path}.tls", TLS_KEYS) if data.get("tls") is not None else {}
    tls_values = {key: reader.text(tls.get(key), f"{path}.tls.{key}") for key in TLS_KEYS}
    if values["password"] and not values["user"]:
        reader.problem(f"{path}.password", "needs a user")
    if values["user"] and not values["password"] and not values["nkey_seed"]:
        reader.problem(f"{path}.user", "needs a password")
    if values["creds"] and values["creds_file"]:
        reader.problem(f"{path}.creds", "give creds or creds_file, not both")
    methods = [m for m, present in (
        ("user/password", values["user"] and values["password"]),
        ("token", values["token"]),
        ("nkey_seed", values["nkey_seed"]),
        ("creds", values["creds"] or values["creds_file"]),
    ) if present]
    if len(methods) > 1:
        reader.problem(path, f"give one way to authenticate, found {' and '.join(methods)}")
    if values["nkey_seed"] and not values["nkey_seed"].startswith("SU"):
        reader.problem(f"{path}.nkey_seed", "is not a user nkey seed (starts with SU)")
    if bool(tls_values["cert_file"]) != bool(tls_values["key_file"]):
        reader.problem(f"{path}.tls", "cert_file and key_file go together")
    return AccountPlan(name=name, is_system=is_system, credentials=Credentials(
        user=values["user"], password=values["password"], token=values["token"],
        nkey_seed=values["nkey_seed"], creds=values["creds"], creds_file=values["creds_file"],
        tls_ca_file=tls_values["ca_file"], tls_cert_file=tls_values["cert_file"],
        tls_key_file=tls_values["key_file"],
    ))


def _team(reader: _Reader, item, path: str) -> TeamPlan:
    data = reader.mapping(item, path, {"name", "grants", "members"}, {"name"})
    name = reader.text(data.get("name"), f"{path}.name", required="name" in data)
    if name and not NAME.match(name):
        reader.problem(f"{path}.name", f"{name!r}: {name_validator.message}")
    grants = []
    for index, grant in enumerate(reader.sequence(data.get("grants"), f"{path}.grants")):
        grant_data = reader.mapping(grant, f"{path}.grants[{index}]", {"cluster", "account"}, {"cluster", "account"})
        grants.append((reader.text(grant_data.get("cluster"), f"{path}.grants[{index}].cluster"),
                       reader.text(grant_data.get("account"), f"{path}.grants[{index}].account")))
    members = []
    for index, member in enumerate(reader.sequence(data.get("members"), f"{path}.members")):
        member_data = reader.mapping(member, f"{path}.members[{index}]", {"user", "role"}, {"user"})
        role = reader.text(member_data.get("role", Role.VIEWER), f"{path}.members[{index}].role")
        if role not in Role.values:
            reader.problem(f"{path}.members[{index}].role", f"{role!r} is not one of {', '.join(Role.values)}")
        members.append((reader.text(member_data.get("user"), f"{path}.members[{index}].user"), role))
    return TeamPlan(name=name, grants=tuple(grants), members=tuple(members))
