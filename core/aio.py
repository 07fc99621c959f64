"""Sync code (Celery tasks, management commands) awaiting async I/O on one long-lived event loop
per thread. asyncio.run builds and tears down a loop on every call, and with it every pooled
HTTP or Redis connection; a poll every few seconds would reconnect to every node each time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
_local = threading.local()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run to completion on this thread's loop (made on first use). Like asyncio.run, it may not
    be called from a thread whose own loop is running."""
    loop = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = _local.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coroutine)


def thread_local(name: str, factory):
    """A value made once per thread, so it belongs to that thread's loop (an HTTP client, say)."""
    value = getattr(_local, name, None)
    if value is None:
        value = factory()
        setattr(_local, name, value)
    return value
