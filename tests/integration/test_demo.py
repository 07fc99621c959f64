"""`make demo`'s program brings the whole stack up, serves a working login, and Ctrl-C stops all of it."""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from devstack.ports import free_port, wait_until

PROJECT_DIR = Path(__file__).resolve().parents[2]


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class OutputReader:
    """Collects a process's output in a thread, so waiting for a line never blocks the test."""

    def __init__(self, process: subprocess.Popen):
        self.lines: queue.Queue[str] = queue.Queue()
        self.text = ""
        threading.Thread(target=self._pump, args=(process.stdout,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.lines.put(line)

    def read_until(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"demo never printed {pattern!r}:\n{self.text}")
            try:
                self.text += self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                pass
        return self.text


def log_in(url: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10, follow_redirects=True)
    client.get("/login/")
    response = client.post("/login/", data={
        "username": username, "password": password, "next": "/",
        "csrfmiddlewaretoken": client.cookies["csrftoken"],
    }, headers={"Referer": f"{url}/login/"})
    assert response.status_code == 200
    return client


def test_demo_comes_up_logs_in_and_stops_everything_on_ctrl_c(tmp_path):
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}}
    environment.update(PORT=str(port), DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    demo = subprocess.Popen([sys.executable, "-m", "devstack.demo"], cwd=PROJECT_DIR, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = OutputReader(demo)
    try:
        banner = output.read_until(r"Press Ctrl-C", timeout=180)
        password = re.search(r"Password (\S+)", banner).group(1)
        assert f"http://127.0.0.1:{port}/" in banner
        started = descendants(demo.pid)
        commands = {Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ") for pid in started if alive(pid)}
        for part in ("nats-server", "redis-server", "worker", "beat", "daphne", "devstack.traffic"):
            assert any(part in command for command in commands), (part, commands)
        assert sum("nats-server" in command for command in commands) == 3

        url = f"http://127.0.0.1:{port}"
        health = httpx.get(f"{url}/healthz", timeout=5).json()
        assert health["status"] == "ok" and health["scheduler"]["fresh"] is True
        client = log_in(url, "admin", password)
        home = client.get("/")
        assert home.url.path == "/"
        assert "Fleet overview" in home.text and "admin" in home.text and "demo" in home.text

        def demo_polled() -> bool:
            body = client.get("/api/clusters/demo/").json()
            return body["status"] == "healthy" and body["nodes_up"] == 3
        wait_until(demo_polled, timeout=60, what="the demo cluster's first healthy poll")
        topology = client.get("/api/clusters/demo/topology").json()
        assert len([e for e in topology["edges"] if e["kind"] == "route"]) == 3
        assert log_in(url, "admin", "wrong-password").get("/").url.path == "/login/"
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=60)
    assert demo.returncode == 0, output.text
    output.read_until("Stopped everything the demo started.", timeout=5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in started):
        time.sleep(0.2)
    assert not [pid for pid in started if alive(pid)]
