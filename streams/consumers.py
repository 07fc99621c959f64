"""The live tail: a WebSocket bridged to a shared NATS subscription.

A frame goes out as soon as there is news, but at most TAIL_FRAMES_PER_SECOND times a second, with at most
TAIL_FRAME_MESSAGES messages: {"messages": [...], "dropped": <so far>, "received": <so far>,
"sent_at": <epoch seconds>, ...}.
Rejections are sent as close codes after the handshake, so scripts can read them:
4401 not signed in, 4403 no role on the account (or no such account), 4400 invalid subject,
4429 a tail limit reached, 4502 NATS unreachable.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404

from streams import access, jetstream, services
from streams.subjects import InvalidSubject, validate_filter_subject
from streams.tail import TailMessage, ViewerBuffer
from streams.tail_hub import TailLimitReached, Viewer, hub
from streams.validation import InvalidInput, sequence, stream_name

CLOSE_INVALID = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_LIMIT = 4429
CLOSE_UNAVAILABLE = 4502


@database_sync_to_async
def _tail_settings(user, cluster_name: str, account_name: str):
    try:
        account, _role = access.account_for(user, cluster_name, account_name)
    except (Http404, PermissionDenied):
        return None
    return (account.cluster.name, account.name), services.connection_settings(account)


def replay_request(query: dict) -> dict | None:
    """?replay_stream=S&replay_seq=N or &replay_time=ISO-8601: where a replay starts, or None."""
    stream = (query.get("replay_stream") or [""])[0]
    if not stream:
        return None
    request = {"stream": stream_name(stream)}
    seq, at = (query.get("replay_seq") or [""])[0], (query.get("replay_time") or [""])[0]
    if seq and at:
        raise InvalidInput("give replay_seq or replay_time, not both")
    if seq:
        request["start_seq"] = sequence(seq, "replay_seq")
    elif at:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise InvalidInput("replay_time must look like 2026-11-21T14:30:00Z") from None
        request["start_time"] = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return request


class TailConsumer(AsyncJsonWebsocketConsumer):
    viewer: Viewer | None = None
    pump: asyncio.Task | None = None
    replayer: asyncio.Task | None = None

    async def connect(self):
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return await self.refuse(CLOSE_UNAUTHENTICATED, "sign in or send Authorization: Bearer <token>")
        kwargs = self.scope["url_route"]["kwargs"]
        found = await _tail_settings(user, kwargs["name"], kwargs["account"])
        if found is None:
            return await self.refuse(CLOSE_FORBIDDEN, "you have no role on this account")
        key, connection = found
        query = parse_qs(self.scope.get("query_string", b"").decode())
        subject = (query.get("subject") or [""])[0]
        try:
            validate_filter_subject(subject)
        except InvalidSubject as error:
            return await self.refuse(CLOSE_INVALID, str(error))
        if hub.tails_of(user.pk) >= settings.TAIL_MAX_PER_USER:
            return await self.refuse(CLOSE_LIMIT, f"at most {settings.TAIL_MAX_PER_USER} live tails per user")
        try:
            replay = replay_request(query)
        except InvalidInput as error:
            return await self.refuse(CLOSE_INVALID, str(error))
        self.wake = asyncio.Event()
        viewer = Viewer(user_id=user.pk, key=key, subject=subject,
                        buffer=ViewerBuffer(capacity=settings.TAIL_BUFFER_MESSAGES, on_offer=self.wake.set),
                        on_notice=self.wake.set)
        try:
            server = await hub.join(key=key, settings=connection, subject=subject, viewer=viewer,
                                    max_subscriptions=settings.TAIL_MAX_SUBSCRIPTIONS)
        except TailLimitReached as error:
            return await self.refuse(CLOSE_LIMIT, str(error))
        except jetstream.JetStreamError as error:
            return await self.refuse(CLOSE_UNAVAILABLE, str(error))
        self.viewer = viewer
        await self.send_json({"status": "subscribed", "subject": subject, "server": server,
                              "preview_bytes": settings.TAIL_PREVIEW_BYTES, "replay": bool(replay)})
        self.pump = asyncio.create_task(self.send_frames())
        if replay:
            viewer.buffer.holding = True
            self.replayer = asyncio.create_task(self.replay(connection, subject, **replay))

    async def replay(self, connection, subject: str, *, stream: str, start_seq=None, start_time=None) -> None:
        """Stored messages first (read, not consumed), then the live ones held meanwhile."""
        buffer = self.viewer.buffer

        def deliver(message):
            buffer.replayed(TailMessage(subject=message.subject, data=message.data, headers=message.headers,
                                        reply="", received_at=message.time.timestamp() if message.time else 0.0,
                                        seq=message.seq))

        try:
            count = await jetstream.replay(connection, stream, subject, start_seq=start_seq, start_time=start_time,
                                           has_room=buffer.has_room, deliver=deliver)
            self.viewer.notify({"replay": "done", "messages": count})
        except jetstream.JetStreamError as error:
            self.viewer.notify({"replay": "failed", "error": str(error)})
        finally:
            buffer.release()
            self.wake.set()

    async def refuse(self, code: int, reason: str) -> None:
        await self.send_json({"error": reason, "code": code})
        await self.close(code=code)

    async def send_frames(self) -> None:
        """Send a frame as soon as there is something to say, but at most one per interval."""
        interval = 1.0 / settings.TAIL_FRAMES_PER_SECOND
        preview = settings.TAIL_PREVIEW_BYTES
        buffer = self.viewer.buffer
        loop = asyncio.get_running_loop()
        last_sent = 0.0
        reported_dropped = 0
        while True:
            await self.wake.wait()
            self.wake.clear()
            wait = last_sent + interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            batch = buffer.take(settings.TAIL_FRAME_MESSAGES)
            notices, self.viewer.notices = self.viewer.notices, []
            if not batch and not notices and buffer.dropped == reported_dropped:
                continue
            last_sent, sent_at = loop.time(), time.time()  # the cadence counts from the take, not the send
            reported_dropped = buffer.dropped
            frame = {"messages": [m.as_frame_item(preview) for m in batch], "dropped": buffer.dropped,
                     "received": buffer.received, "buffered": len(buffer), "paused": buffer.paused,
                     "sent_at": sent_at}
            if notices:
                frame["notices"] = notices
            await self.send_json(frame)
            if len(buffer) and not buffer.paused:
                self.wake.set()  # more is waiting: the next frame goes after the interval

    async def receive_json(self, content, **kwargs):
        if self.viewer is None or not isinstance(content, dict):
            return
        if "pause" in content:
            self.viewer.buffer.paused = bool(content["pause"])
            self.wake.set()

    async def disconnect(self, code):
        for task in (self.pump, self.replayer):
            if task is not None:
                task.cancel()
        if self.viewer is not None:
            await hub.leave(self.viewer)
            self.viewer = None
