"""The tail's per-viewer buffer: bounded, drops the oldest messages when the viewer falls behind,
and counts what it dropped, so received + dropped == published for every viewer. Pure."""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TailMessage:
    subject: str
    data: bytes
    headers: tuple[tuple[str, str], ...]
    reply: str
    received_at: float  # epoch seconds
    seq: int | None = None  # stream sequence, for replayed messages

    def as_frame_item(self, preview_bytes: int) -> dict:
        size = len(self.data)
        shown = self.data[:preview_bytes]
        item = {"subject": self.subject, "headers": dict(self.headers), "reply": self.reply or None,
                "size": size, "received_at": self.received_at, "truncated": size > preview_bytes}
        try:
            item["data"] = shown.decode("utf-8")
        except UnicodeDecodeError:
            item["data"] = None
            item["data_base64"] = base64.b64encode(shown).decode()
        if self.seq is not None:
            item["seq"] = self.seq
        return item


@dataclass
class ViewerBuffer:
    capacity: int
    paused: bool = False
    dropped: int = 0
    received: int = 0  # handed to the viewer in frames
    on_offer: Callable[[], None] | None = None  # wakes whoever sends the frames
    holding: bool = False  # while a replay runs, live messages wait behind it (bounded too)
    _queue: deque = field(default_factory=deque)
    _held: deque = field(default_factory=deque)

    def offer(self, message: TailMessage) -> None:
        if self.holding:
            if len(self._held) >= self.capacity:
                self._held.popleft()
                self.dropped += 1
            self._held.append(message)
            return
        self._put(message)

    def replayed(self, message: TailMessage) -> None:
        self._put(message)

    def release(self) -> None:
        """The replay is done: live messages held meanwhile follow it."""
        self.holding = False
        while self._held:
            self._put(self._held.popleft())

    def has_room(self) -> bool:
        return len(self._queue) < self.capacity // 2

    def _put(self, message: TailMessage) -> None:
        if len(self._queue) >= self.capacity:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(message)
        if self.on_offer is not None:
            self.on_offer()

    def take(self, limit: int) -> list[TailMessage]:
        """Up to `limit` messages for the next frame (none while paused: they wait, bounded)."""
        if self.paused:
            return []
        batch = []
        while self._queue and len(batch) < limit:
            batch.append(self._queue.popleft())
        self.received += len(batch)
        return batch

    def __len__(self) -> int:
        return len(self._queue)
