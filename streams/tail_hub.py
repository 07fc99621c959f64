"""Live tail plumbing shared by every viewer in this process.

One NATS connection per (cluster, account), reference-counted; one subscription per
(cluster, account, subject), fanned out to the viewers' bounded buffers and removed
when its last viewer leaves. A slow viewer only overflows its own buffer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from streams import jetstream
from streams.tail import TailMessage, ViewerBuffer


class TailLimitReached(Exception):
    pass


@dataclass(eq=False)
class Viewer:
    user_id: int
    key: tuple[str, str]
    subject: str
    buffer: ViewerBuffer
    notices: list[dict] = field(default_factory=list)  # connection changes to tell the browser
    on_notice: Callable[[], None] | None = None

    def notify(self, notice: dict) -> None:
        self.notices.append(notice)
        if self.on_notice is not None:
            self.on_notice()


@dataclass(eq=False)
class SharedConnection:
    nc: object
    server: str = ""
    viewers: set = field(default_factory=set)


@dataclass(eq=False)
class SharedSubscription:
    subscription: object
    viewers: set = field(default_factory=set)


class TailHub:
    def __init__(self):
        self.connections: dict[tuple[str, str], SharedConnection] = {}
        self.subscriptions: dict[tuple[tuple[str, str], str], SharedSubscription] = {}
        self.lock = asyncio.Lock()

    def tails_of(self, user_id: int) -> int:
        return sum(1 for s in self.subscriptions.values() for v in s.viewers if v.user_id == user_id)

    async def join(self, *, key: tuple[str, str], settings: jetstream.ConnectionSettings, subject: str,
                   viewer: Viewer, max_subscriptions: int) -> str:
        """Attach a viewer; returns the server it is connected through."""
        async with self.lock:
            sub_key = (key, subject)
            if sub_key not in self.subscriptions and len(self.subscriptions) >= max_subscriptions:
                raise TailLimitReached(f"this server already runs {max_subscriptions} live subscriptions")
            shared = self.connections.get(key)
            if shared is None:
                shared = SharedConnection(nc=None)
                shared.nc = await jetstream.open_live_connection(
                    settings, on_reconnected=lambda url: self._reconnected(shared, url),
                    on_disconnected=lambda: self._disconnected(shared))
                shared.server = jetstream.connected_url(shared.nc)
                self.connections[key] = shared
            shared.viewers.add(viewer)
            subscription = self.subscriptions.get(sub_key)
            if subscription is None:
                subscription = SharedSubscription(subscription=None)
                try:
                    subscription.subscription = await jetstream.subscribe(
                        shared.nc, subject, lambda *m: self._deliver(subscription, *m))
                except jetstream.JetStreamError:
                    await self._release(key, shared, viewer)
                    raise
                self.subscriptions[sub_key] = subscription
            subscription.viewers.add(viewer)
            return shared.server

    async def leave(self, viewer: Viewer) -> None:
        async with self.lock:
            sub_key = (viewer.key, viewer.subject)
            subscription = self.subscriptions.get(sub_key)
            if subscription is not None:
                subscription.viewers.discard(viewer)
                if not subscription.viewers:
                    del self.subscriptions[sub_key]
                    await jetstream.unsubscribe(subscription.subscription)
            shared = self.connections.get(viewer.key)
            if shared is not None and viewer in shared.viewers:
                await self._release(viewer.key, shared, viewer)

    async def _release(self, key, shared: SharedConnection, viewer: Viewer) -> None:
        shared.viewers.discard(viewer)
        if not shared.viewers:
            self.connections.pop(key, None)
            await jetstream._close_quietly(shared.nc)

    @staticmethod
    def _deliver(subscription: SharedSubscription, subject, data, headers, reply) -> None:
        message = TailMessage(subject=subject, data=data, headers=headers, reply=reply or "",
                              received_at=time.time())
        for viewer in subscription.viewers:
            viewer.buffer.offer(message)

    @staticmethod
    async def _reconnected(shared: SharedConnection, url: str) -> None:
        shared.server = url
        for viewer in shared.viewers:
            viewer.notify({"connection": "reconnected", "server": url})

    @staticmethod
    async def _disconnected(shared: SharedConnection) -> None:
        for viewer in shared.viewers:
            viewer.notify({"connection": "lost", "server": shared.server})


hub = TailHub()
