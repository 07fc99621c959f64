"""Real receivers for notification tests: a local HTTP server that records webhook POSTs, and a
NATS subscription in a background thread."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import nats


class WebhookReceiver:
    """Answers each path with the next status of `statuses` (then 200) and records every request."""

    def __init__(self, statuses=()):
        self.requests: list[dict] = []
        self._statuses = list(statuses)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver._lock:
                    status = receiver._statuses.pop(0) if receiver._statuses else 200
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": json.loads(raw or b"{}"), "status": status})
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver broke")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def received(self) -> list[dict]:
        with self._lock:
            return list(self.requests)


class NatsListener:
    """Subscribes to `subject` on one account in a thread of its own until stopped."""

    def __init__(self, nats_cluster, account_name: str, subject: str):
        self.account = nats_cluster.account(account_name)
        self.url = nats_cluster.client_urls[0]
        self.subject = subject
        self.messages: list[dict] = []
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main():
            nc = await nats.connect(self.url, user=self.account.user, password=self.account.password,
                                    connect_timeout=3, allow_reconnect=False, max_reconnect_attempts=0)
            try:
                async def on_message(message):
                    self.messages.append({"subject": message.subject, "body": json.loads(message.data),
                                          "headers": dict(message.headers or {})})

                await nc.subscribe(self.subject, cb=on_message)
                await nc.flush(timeout=5)
                self.ready.set()
                while not self._stop.is_set():
                    await asyncio.sleep(0.05)
            finally:
                await nc.close()

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by __enter__ or the test
            self.error = exc
            self.ready.set()

    def __enter__(self) -> NatsListener:
        self.thread.start()
        assert self.ready.wait(20), "the test subscription did not start"
        if self.error:
            raise self.error
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.thread.join(10)
