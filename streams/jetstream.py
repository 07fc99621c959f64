"""The only module that opens NATS connections (nats-py).

Connections are bounded in time (an unreachable server is not retried forever),
every JetStream call goes through the JSON API with its own timeout, and every
failure surfaces as a JetStreamError subclass whose message an operator can read.
Results are frozen dataclasses or plain dicts of the server's JSON.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

import nats
from nats.aio.client import RawCredentials
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from clusters.monitoring import parse_time

CONNECT_TIMEOUT = 5.0
API_TIMEOUT = 5.0
# JetStream err_codes that mean "no such thing" whatever the HTTP-like code says:
# stream not found, consumer not found, no message found, message not found on delete.
NOT_FOUND_ERRORS = {10059, 10014, 10037, 10057}  # the JetStream API returns at most 256 streams per page


class JetStreamError(Exception):
    """A NATS or JetStream operation failed; str() is a message for the operator."""


class ConnectFailed(JetStreamError):
    pass


class NotFound(JetStreamError):
    pass


class BadRequest(JetStreamError):
    pass


class Timeout(JetStreamError):
    pass


@dataclass(frozen=True)
class ConnectionSettings:
    servers: tuple[str, ...]
    user: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    nkey_seed: str = field(default="", repr=False)
    creds: str = field(default="", repr=False)
    creds_file: str = ""
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    name: str = "natsdash"


@dataclass(frozen=True)
class StoredMessage:
    stream: str
    seq: int
    subject: str
    time: datetime | None
    headers: tuple[tuple[str, str], ...]
    data: bytes


@dataclass(frozen=True)
class PublishResult:
    subject: str
    size: int
    stream: str = ""  # the stream that captured it, from the ack
    seq: int | None = None
    duplicate: bool = False
    reply: StoredMessage | None = None  # for requests: the reply


def _tls_context(settings: ConnectionSettings) -> ssl.SSLContext | None:
    if not (settings.tls_ca_file or settings.tls_cert_file):
        return None
    context = ssl.create_default_context(cafile=settings.tls_ca_file or None)
    if settings.tls_cert_file:
        context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file or None)
    return context


def _connect_options(settings: ConnectionSettings, timeout: float) -> dict:
    options = {
        "servers": list(settings.servers),
        "name": settings.name,
        "connect_timeout": timeout,
        "allow_reconnect": False,
        "max_reconnect_attempts": 1,
        "reconnect_time_wait": 0.2,
    }
    if settings.user:
        options["user"] = settings.user
        if settings.password:
            options["password"] = settings.password
    if settings.token:
        options["token"] = settings.token
    if settings.nkey_seed:
        options["nkeys_seed_str"] = settings.nkey_seed
    if settings.creds:
        options["user_credentials"] = RawCredentials(settings.creds)
    elif settings.creds_file:
        options["user_credentials"] = settings.creds_file
    try:
        tls = _tls_context(settings)
    except (OSError, ssl.SSLError) as exc:
        raise ConnectFailed(f"TLS files cannot be used: {exc}") from None
    if tls is not None:
        options["tls"] = tls
    return options


async def _silence(*args, **kwargs) -> None:
    # nats-py logs connection errors through callbacks; errors reach callers as exceptions instead.
    return None


async def open_connection(settings: ConnectionSettings, *, timeout: float = CONNECT_TIMEOUT):
    """A short-lived connection: no reconnects, the connect bounded by `timeout` per server."""
    return await _connect(settings, timeout, {})


async def _connect(settings: ConnectionSettings, timeout: float, extra: dict):
    if not settings.servers:
        raise ConnectFailed("the cluster has no client URLs registered")
    options = {"error_cb": _silence, "disconnected_cb": _silence, "closed_cb": _silence,
               **_connect_options(settings, timeout), **extra}
    nc = nats.NATS()
    try:
        await asyncio.wait_for(nc.connect(**options), timeout=timeout * (len(settings.servers) + 1))
    except asyncio.TimeoutError:
        await _close_quietly(nc)
        raise ConnectFailed(f"no NATS server answered within {timeout:g}s ({', '.join(settings.servers)})") from None
    except NatsError as exc:
        await _close_quietly(nc)
        message = str(exc) or type(exc).__name__
        if "authorization" in message.lower():
            raise ConnectFailed("NATS refused the account's credentials (authorization violation)") from None
        raise ConnectFailed(f"cannot connect to NATS: {message}") from None
    except OSError as exc:
        await _close_quietly(nc)
        raise ConnectFailed(f"cannot connect to NATS: {exc.strerror or exc}") from None
    return nc


@asynccontextmanager
async def connection(settings: ConnectionSettings, *, timeout: float = CONNECT_TIMEOUT):
    nc = await open_connection(settings, timeout=timeout)
    try:
        yield nc
    finally:
        try:
            await asyncio.wait_for(nc.close(), timeout=timeout)
        except Exception:  # closing a broken connection must not hide the real outcome
            pass


# -- the JetStream JSON API ------------------------------------------------------------------


async def api_request(nc, subject: str, payload: dict | None = None, *, timeout: float = API_TIMEOUT) -> dict:
    body = json.dumps(payload).encode() if payload is not None else b""
    try:
        reply = await nc.request(subject, body, timeout=timeout)
    except NoRespondersError:
        raise JetStreamError("JetStream is not enabled for this account (no responders)") from None
    except (NatsTimeout, asyncio.TimeoutError):
        raise Timeout(f"JetStream did not answer within {timeout:g}s") from None
    except NatsError as exc:
        raise JetStreamError(f"NATS error: {exc or type(exc).__name__}") from None
    try:
        data = json.loads(reply.data or b"{}")
    except ValueError:
        raise JetStreamError("JetStream sent a reply that is not JSON") from None
    error = data.get("error")
    if error:
        description = error.get("description") or "unknown error"
        code = error.get("code")
        if code == 404 or error.get("err_code") in NOT_FOUND_ERRORS:
            raise NotFound(description)
        if code == 400:
            raise BadRequest(description)
        raise JetStreamError(f"{description} (code {code})")
    return data


async def list_streams(nc, *, timeout: float = API_TIMEOUT) -> list[dict]:
    """Every stream's info, paging through the API's 256 per page."""
    streams: list[dict] = []
    while True:
        page = await api_request(nc, "$JS.API.STREAM.LIST", {"offset": len(streams)}, timeout=timeout)
        batch = page.get("streams") or []
        streams.extend(batch)
        if not batch or len(streams) >= int(page.get("total") or 0):
            return streams


async def stream_info(nc, stream: str, *, subjects_filter: str | None = None,
                      deleted_details: bool = False, timeout: float = API_TIMEOUT) -> dict:
    payload = {}
    if subjects_filter:
        payload["subjects_filter"] = subjects_filter
    if deleted_details:
        payload["deleted_details"] = True
    return await api_request(nc, f"$JS.API.STREAM.INFO.{stream}", payload or None, timeout=timeout)


async def consumer_info(nc, stream: str, consumer: str, *, timeout: float = API_TIMEOUT) -> dict:
    return await api_request(nc, f"$JS.API.CONSUMER.INFO.{stream}.{consumer}", timeout=timeout)


@dataclass(frozen=True)
class AccountInfo:
    """An account's JetStream usage and limits ($JS.API.INFO); a limit of -1 means unlimited.

    With tiered limits (R1, R3, ...) the server sends the account-wide `limits` as zeros and
    each tier's usage and limits under `tiers` (name -> AccountInfo of that tier)."""

    memory: int
    storage: int
    streams: int
    consumers: int
    max_memory: int = -1
    max_storage: int = -1
    max_streams: int = -1
    max_consumers: int = -1
    tiers: tuple[tuple[str, AccountInfo], ...] = ()

    def as_dict(self) -> dict:
        """The stored shape of Account.jetstream (other code reads these keys); "tiers" only
        when the account has tiered limits."""
        stored = {"memory": self.memory, "storage": self.storage, "streams": self.streams,
                  "consumers": self.consumers,
                  "limits": {"max_memory": self.max_memory, "max_storage": self.max_storage,
                             "max_streams": self.max_streams, "max_consumers": self.max_consumers}}
        if self.tiers:
            stored["tiers"] = {name: tier.as_dict() for name, tier in self.tiers}
        return stored


def parse_account_info(data: dict) -> AccountInfo:
    def number(source: dict, key: str, default: int) -> int:
        value = source.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    limits = data.get("limits") if isinstance(data.get("limits"), dict) else {}
    tiers = data.get("tiers") if isinstance(data.get("tiers"), dict) else {}
    return AccountInfo(
        memory=number(data, "memory", 0), storage=number(data, "storage", 0),
        streams=number(data, "streams", 0), consumers=number(data, "consumers", 0),
        max_memory=number(limits, "max_memory", -1), max_storage=number(limits, "max_storage", -1),
        max_streams=number(limits, "max_streams", -1), max_consumers=number(limits, "max_consumers", -1),
        tiers=tuple((str(name), parse_account_info({**tier, "tiers": None}))
                    for name, tier in sorted(tiers.items()) if isinstance(tier, dict)))


async def account_info(settings: ConnectionSettings, *, timeout: float = API_TIMEOUT,
                       connect_timeout: float = CONNECT_TIMEOUT) -> AccountInfo:
    """The account's JetStream usage and limits over its own connection."""
    async with connection(settings, timeout=connect_timeout) as nc:
        return parse_account_info(await api_request(nc, "$JS.API.INFO", timeout=timeout))


def _headers(raw: bytes) -> tuple[tuple[str, str], ...]:
    """NATS/1.0 header block -> ((name, value), ...), order and repeats kept."""
    lines = raw.decode("utf-8", "replace").split("\r\n")
    pairs = []
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


async def get_message(nc, stream: str, *, seq: int | None = None, last_by_subject: str | None = None,
                      next_by_subject: str | None = None, timeout: float = API_TIMEOUT) -> StoredMessage:
    """Read one stored message without consuming it (STREAM.MSG.GET: works on work-queue streams)."""
    payload: dict = {}
    if last_by_subject:
        payload["last_by_subj"] = last_by_subject
    else:
        payload["seq"] = seq
        if next_by_subject:
            payload["next_by_subj"] = next_by_subject
    data = await api_request(nc, f"$JS.API.STREAM.MSG.GET.{stream}", payload, timeout=timeout)
    message = data.get("message") or {}
    return StoredMessage(
        stream=stream,
        seq=int(message.get("seq") or 0),
        subject=message.get("subject", ""),
        time=parse_time(message.get("time")),
        headers=_headers(base64.b64decode(message["hdrs"])) if message.get("hdrs") else (),
        data=base64.b64decode(message.get("data") or ""),
    )


async def purge(nc, stream: str, *, subject: str | None = None, keep: int | None = None,
                seq: int | None = None, timeout: float = API_TIMEOUT) -> int:
    """Purge and return the server's purged count (nats-py's helper drops it)."""
    payload: dict = {}
    if subject:
        payload["filter"] = subject
    if keep is not None:
        payload["keep"] = keep
    if seq is not None:
        payload["seq"] = seq
    data = await api_request(nc, f"$JS.API.STREAM.PURGE.{stream}", payload or None, timeout=timeout)
    return int(data.get("purged") or 0)


async def delete_message(nc, stream: str, seq: int, *, timeout: float = API_TIMEOUT) -> None:
    await api_request(nc, f"$JS.API.STREAM.MSG.DELETE.{stream}", {"seq": seq, "no_erase": True}, timeout=timeout)


async def create_stream(nc, config: dict, *, timeout: float = API_TIMEOUT) -> dict:
    return await api_request(nc, f"$JS.API.STREAM.CREATE.{config['name']}", config, timeout=timeout)


async def update_stream(nc, config: dict, *, timeout: float = API_TIMEOUT) -> dict:
    return await api_request(nc, f"$JS.API.STREAM.UPDATE.{config['name']}", config, timeout=timeout)


async def delete_stream(nc, stream: str, *, timeout: float = API_TIMEOUT) -> None:
    await api_request(nc, f"$JS.API.STREAM.DELETE.{stream}", timeout=timeout)


# -- core NATS -------------------------------------------------------------------------------


async def publish(nc, subject: str, data: bytes, *, headers: dict | None = None, to_stream: bool,
                  timeout: float = API_TIMEOUT) -> PublishResult:
    """Publish; when a stream captures the subject, wait for its ack (stream and sequence)."""
    if len(data) > nc.max_payload:
        raise BadRequest(f"payload of {len(data)} bytes exceeds the server's max_payload of {nc.max_payload}")
    try:
        if to_stream:
            ack = await nc.jetstream(timeout=timeout).publish(subject, data, headers=headers or None, timeout=timeout)
            return PublishResult(subject=subject, size=len(data), stream=ack.stream, seq=ack.seq,
                                 duplicate=bool(ack.duplicate))
        await nc.publish(subject, data, headers=headers or None)
        await nc.flush(timeout=timeout)
    except NoRespondersError:
        raise JetStreamError("no stream acknowledged the message (no responders)") from None
    except (NatsTimeout, asyncio.TimeoutError):
        raise Timeout(f"no acknowledgement within {timeout:g}s") from None
    except NatsError as exc:
        raise JetStreamError(f"publish failed: {exc or type(exc).__name__}") from None
    return PublishResult(subject=subject, size=len(data))


async def request(nc, subject: str, data: bytes, *, headers: dict | None = None,
                  timeout: float = API_TIMEOUT) -> PublishResult:
    if len(data) > nc.max_payload:
        raise BadRequest(f"payload of {len(data)} bytes exceeds the server's max_payload of {nc.max_payload}")
    try:
        reply = await nc.request(subject, data, headers=headers or None, timeout=timeout)
    except NoRespondersError:
        raise JetStreamError(f"nobody is subscribed to {subject} (no responders)") from None
    except (NatsTimeout, asyncio.TimeoutError):
        raise Timeout(f"no reply within {timeout:g}s") from None
    except NatsError as exc:
        raise JetStreamError(f"request failed: {exc or type(exc).__name__}") from None
    reply_headers = tuple((k, v) for k, v in (reply.headers or {}).items())
    return PublishResult(subject=subject, size=len(data), reply=StoredMessage(
        stream="", seq=0, subject=reply.subject, time=None, headers=reply_headers, data=reply.data))


# -- long-lived connections for the live tail --------------------------------------------------


async def open_live_connection(settings: ConnectionSettings, *, on_reconnected=None, on_disconnected=None,
                               timeout: float = CONNECT_TIMEOUT):
    """A connection that outlives node failures: it moves to another server of the cluster and
    calls on_reconnected(url). The first connect is still bounded by `timeout`."""
    holder = {}

    async def reconnected():
        if on_reconnected is not None:
            await on_reconnected(connected_url(holder["nc"]))

    async def disconnected():
        if on_disconnected is not None:
            await on_disconnected()

    holder["nc"] = await _connect(settings, timeout, {
        "allow_reconnect": True, "max_reconnect_attempts": -1, "reconnect_time_wait": 0.5,
        "pending_size": 8 * 1024 * 1024, "reconnected_cb": reconnected, "disconnected_cb": disconnected})
    return holder["nc"]


async def _close_quietly(nc) -> None:
    try:
        await nc.close()
    except Exception:  # a half-open connection may fail to close; nothing to report
        pass


def connected_url(nc) -> str:
    url = nc.connected_url
    return f"{url.scheme}://{url.hostname}:{url.port}" if url else ""


async def subscribe(nc, subject: str, on_message):
    """Subscribe with a callback taking (subject, data, headers, reply); returns the subscription."""
    async def callback(message):
        headers = tuple((k, v) for k, v in (message.headers or {}).items())
        on_message(message.subject, message.data, headers, message.reply)

    try:
        subscription = await nc.subscribe(subject, cb=callback)
        await nc.flush(timeout=API_TIMEOUT)  # the server has the interest before viewers are told so
    except (NatsError, asyncio.TimeoutError) as exc:
        raise JetStreamError(f"cannot subscribe to {subject}: {exc or type(exc).__name__}") from None
    return subscription


async def unsubscribe(subscription) -> None:
    try:
        await subscription.unsubscribe()
    except NatsError:
        pass  # the connection is gone: so is the subscription


async def replay(settings: ConnectionSettings, stream: str, subject: str, *, start_seq: int | None = None,
                 start_time: datetime | None = None, has_room, deliver, timeout: float = CONNECT_TIMEOUT) -> int:
    """Read a stream's stored messages on `subject` from a sequence or a time up to its last
    message now, without consuming them (works on work-queue streams), pacing on has_room().
    Returns how many were delivered."""
    async with connection(settings, timeout=timeout) as nc:
        state = (await stream_info(nc, stream)).get("state") or {}
        first, last = int(state.get("first_seq") or 1), int(state.get("last_seq") or 0)
        seq = max(start_seq or first, first)
        if start_time is not None:
            seq = await first_seq_at(nc, stream, start_time, first, last)
        delivered = 0
        while seq <= last:
            while not has_room():
                await asyncio.sleep(0.05)
            try:
                message = await get_message(nc, stream, seq=seq, next_by_subject=subject)
            except NotFound:
                break
            if message.seq > last:
                break
            deliver(message)
            delivered += 1
            seq = message.seq + 1
        return delivered


async def first_seq_at(nc, stream: str, at: datetime, low: int, high: int) -> int:
    """The sequence of the first message stored at or after `at` (high + 1: none), by binary
    search over sequences, stepping over deleted ones."""
    found = high + 1
    while low <= high:
        middle = (low + high) // 2
        try:
            message = await get_message(nc, stream, seq=middle, next_by_subject=">")
        except NotFound:
            high = middle - 1
            continue
        if message.time and message.time >= at:
            found, high = message.seq, middle - 1
        else:
            low = message.seq + 1
    return found
