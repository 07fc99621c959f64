"""Simulated nats-server monitoring ports for a fleet: one listening port per simulated node.

Every node serves the JSON recorded from a real 3-node cluster (bench.support.fleet_recording)
for /varz, /routez, /gatewayz, /leafz, /healthz, /jsz and /accstatz, rewritten so that the nodes of
simulated cluster "sim042" are named sim042-n1..n3, have their own server ids, route to each
other and form the JetStream meta group and stream replica sets of their own cluster.

Each request is answered after a random delay drawn uniformly from --latency-ms (default
20-80 ms, seeded): a monitoring endpoint on a remote network, whose server also needs some
time to assemble /jsz. The responder speaks enough HTTP/1.1 for httpx: one request after
another on a kept-alive connection, Content-Length bodies, no chunking.

Run by bench.fleet as a child process:

    python -m bench.simfleet --recording DIR --clusters 100 --ports-file PATH
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import signal
from pathlib import Path

ENDPOINTS = ("varz", "routez", "gatewayz", "leafz", "healthz", "jsz", "accstatz")


def cluster_name(index: int) -> str:
    return f"sim{index + 1:03d}"


def server_id(name: str) -> str:
    """A 56-character id in nats-server's style (an "N" and 55 base32 characters)."""
    digest = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()
    return "N" + digest[:55]


def rewrite(value, mapping: dict[str, str]):
    """The JSON value with every string equal to a key of mapping replaced by its value."""
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, list):
        return [rewrite(item, mapping) for item in value]
    if isinstance(value, dict):
        return {mapping.get(key, key): rewrite(item, mapping) for key, item in value.items()}
    return value


def load_recording(directory: Path) -> tuple[dict, dict[str, dict[str, dict]]]:
    manifest = json.loads((directory / "recording.json").read_text())
    bodies = {node: {endpoint: json.loads((directory / node / f"{endpoint}.json").read_text())
                     for endpoint in ENDPOINTS} for node in manifest["nodes"]}
    return manifest, bodies


def fleet_bodies(directory: Path, clusters: int) -> dict[str, dict[str, bytes]]:
    """{simulated node name: {endpoint: the response body}} for the whole fleet."""
    manifest, recorded = load_recording(directory)
    original_ids = {node: recorded[node]["varz"]["server_id"] for node in manifest["nodes"]}
    fleet = {}
    for index in range(clusters):
        name = cluster_name(index)
        mapping = {manifest["cluster"]: name}
        for number, node in enumerate(manifest["nodes"], start=1):
            mapping[node] = f"{name}-n{number}"
            mapping[original_ids[node]] = server_id(f"{name}-n{number}")
        for node in manifest["nodes"]:
            fleet[mapping[node]] = {
                # nats-server indents its JSON with two spaces; keep the sizes real.
                endpoint: json.dumps(rewrite(body, mapping), indent=2).encode()
                for endpoint, body in recorded[node].items()}
    return fleet


class Responder:
    def __init__(self, bodies: dict[str, bytes], latency: tuple[float, float], rng: random.Random):
        self.bodies, self.latency, self.rng = bodies, latency, rng

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                target = head.split(b"\r\n", 1)[0].split(b" ")[1]
                endpoint = target.split(b"?", 1)[0].decode("latin-1").strip("/")
                await asyncio.sleep(self.rng.uniform(*self.latency))
                body = self.bodies.get(endpoint)
                status = b"200 OK" if body is not None else b"404 Not Found"
                body = body if body is not None else b'{"error": "not found"}'
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                             b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                await writer.drain()
                if b"connection: close" in head.lower():
                    return
        except ConnectionError:
            return
        finally:
            writer.close()


async def serve(args) -> None:
    bodies = fleet_bodies(args.recording, args.clusters)
    rng = random.Random(args.seed)
    latency = (args.latency_ms[0] / 1000, args.latency_ms[1] / 1000)
    servers, ports = [], {}
    for node, node_bodies in bodies.items():
        server = await asyncio.start_server(Responder(node_bodies, latency, rng), "127.0.0.1", 0, backlog=256)
        servers.append(server)
        ports[node] = server.sockets[0].getsockname()[1]
    clusters = {cluster_name(i): [f"{cluster_name(i)}-n{n}" for n in (1, 2, 3)] for i in range(args.clusters)}
    scratch = args.ports_file.with_suffix(".partial")
    scratch.write_text(json.dumps({"ports": ports, "clusters": clusters}))
    os.replace(scratch, args.ports_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", type=Path, required=True)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--ports-file", type=Path, required=True)
    parser.add_argument("--latency-ms", type=float, nargs=2, default=(20.0, 80.0))
    parser.add_argument("--seed", type=int, default=7)
    asyncio.run(serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
