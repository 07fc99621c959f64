"""Pure rules of notifications: which team hears of an alert, what a silence covers, the body
sent, when to retry and how long to wait, how a webhook URL is shown. No I/O."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from alerts.checks import CHECKS
from streams.subjects import InvalidSubject, validate_publish_subject

RETRY_STATUS_CODES = {408, 425, 429}
DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_SILENCE = timedelta(days=90)


class InvalidInput(ValueError):
    """Input a user gave that natsdash refuses; str() says why."""


def redact_url(url: str) -> str:
    """A webhook URL safe to show and log: scheme, host and port only. User info, the path (Slack
    tokens, webhook.site ids), the query and the fragment can all be secrets."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(invalid URL)"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}"


# Addresses a webhook may not point at: natsdash would otherwise fetch cloud instance metadata
# (credentials) for whoever can add a channel. Loopback and private addresses stay allowed on
# purpose: an internal relay (or a receiver on the same host) is a common, legitimate target.
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
METADATA_ADDRESSES = {ipaddress.ip_address("fd00:ec2::254"),     # AWS instance metadata over IPv6
                      ipaddress.ip_address("100.100.100.200")}  # Alibaba Cloud instance metadata
METADATA_HOSTS = {"metadata.google.internal", "metadata.goog"}
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _host_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names literally, including the legacy IPv4 spellings resolvers accept
    (2852039166, 0xa9.0xfe.0xa9.0xfe, 169.254.43518); None for a DNS name."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not re.fullmatch(r"[0-9a-fA-FxX.]+", host):
            return None
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))  # a conversion; nothing is resolved
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address in NAT64:  # 64:ff9b::a9fe:a9fe reaches 169.254.169.254 through a NAT64 gateway
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def validate_webhook_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise InvalidInput("a webhook needs a URL")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        raise InvalidInput("the webhook URL cannot be parsed") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the webhook URL must be http:// or https:// with a host")
    if len(url) > 1000:
        raise InvalidInput("the webhook URL is longer than 1000 characters")
    host = parts.hostname.rstrip(".").lower()
    if host in METADATA_HOSTS:
        raise InvalidInput(f"the webhook host {host} is a cloud metadata service; choose another receiver")
    address = _host_address(host)
    if address is not None and (address in METADATA_ADDRESSES or any(address in net for net in LINK_LOCAL
                                                                      if net.version == address.version)):
        raise InvalidInput(f"the webhook host {address} is a link-local or cloud metadata address "
                           "(169.254.0.0/16, fe80::/10); choose another receiver")
    return url


def validate_channel_subject(subject: str) -> str:
    """A subject a NATS channel may publish to: concrete, and not an API or reply subject, since
    natsdash publishes with its own credentials for the account ($JS.API.STREAM.DELETE.X would
    delete a stream on every alert)."""
    subject = (subject or "").strip()
    try:
        validate_publish_subject(subject)
    except InvalidSubject as error:
        raise InvalidInput(str(error)) from None
    first = subject.split(".", 1)[0]
    if first.startswith("$") or first == "_INBOX":
        raise InvalidInput(f"subject {subject!r} is reserved: subjects starting with $ (JetStream, KV and "
                           "system APIs) or _INBOX (replies) cannot receive notifications")
    return subject


CHECK_NAMES = frozenset(CHECKS)
CHECK_FAMILIES = frozenset(name.split(".", 1)[0] for name in CHECKS)


def validate_silence_check(check: str) -> str:
    """What a silence may name: a check (consumer.num_pending) or a family of them (consumer);
    empty for any check."""
    check = (check or "").strip().lower()
    if check and check not in CHECK_NAMES and check not in CHECK_FAMILIES:
        raise InvalidInput(f"{check!r} is not a check (such as consumer.num_pending) or a family of checks ("
                           + ", ".join(sorted(CHECK_FAMILIES)) + ")")
    return check


def team_is_told(*, cluster_id: int, account: str, grants: set[tuple[int, str]]) -> bool:
    """A team hears of an account's alert when it holds a grant on that (cluster, account), and of a
    cluster-wide alert (no account) when it holds any grant on that cluster."""
    if account:
        return (cluster_id, account) in grants
    return any(granted_cluster == cluster_id for granted_cluster, _ in grants)


@dataclass(frozen=True)
class SilenceMatch:
    cluster_id: int | None
    account: str
    check: str
    ends_at: datetime


def silenced(silence: SilenceMatch, *, cluster_id: int, account: str, check: str, now: datetime) -> bool:
    """A silence covers an alert until its end when every field it sets matches; an empty field
    matches anything, a check family (node) every check of it (node.cpu)."""
    if silence.ends_at <= now:
        return False
    if silence.cluster_id is not None and silence.cluster_id != cluster_id:
        return False
    if silence.account and silence.account != account:
        return False
    if not silence.check or silence.check == check:
        return True
    return "." not in silence.check and check.split(".", 1)[0] == silence.check  # a family: "consumer"


def silence_end(*, duration: str = "", ends_at: str = "", now: datetime) -> datetime:
    """When a new silence ends: a duration such as 30m, 4h, 2d, 1w, or a time (ISO 8601; UTC when
    it names no zone). It must lie in the future and at most 90 days ahead."""
    duration, ends_at = (duration or "").strip(), (ends_at or "").strip()
    if duration and ends_at:
        raise InvalidInput("give either a duration or an end time, not both")
    if duration:
        match = DURATION.match(duration.lower())
        if not match:
            raise InvalidInput(f"duration {duration!r} is not like 30m, 4h, 2d or 1w")
        end = now + timedelta(seconds=int(match.group(1)) * DURATION_UNITS[match.group(2)])
    elif ends_at:
        try:
            end = datetime.fromisoformat(ends_at)
        except ValueError:
            raise InvalidInput(f"end time {ends_at!r} is not a date and time like 2026-05-01T18:00") from None
        if end.tzinfo is None:
            end = end.replace(tzinfo=now.tzinfo)
    else:
        raise InvalidInput("a silence needs a duration or an end time")
    if end <= now:
        raise InvalidInput("the silence would end in the past")
    if end - now > MAX_SILENCE:
        raise InvalidInput("a silence may last at most 90 days")
    return end


def retryable(*, status_code: int | None) -> bool:
    """Network errors (no status) and server-side failures are retried; other client errors are not."""
    return status_code is None or status_code >= 500 or status_code in RETRY_STATUS_CODES


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, ...): base, 2·base, 4·base … up to cap."""
    return float(min(cap, base * 2 ** max(attempt - 1, 0)))


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def alert_body(alert, *, transition: str, cluster: str, link: str) -> dict:
    """The JSON a channel receives; the same for webhooks and NATS subjects. Reads only the
    attributes the alerts app promises and tolerates missing ones."""
    read = lambda name: getattr(alert, name, None)
    return {
        "transition": transition,
        "cluster": cluster,
        "account": read("account") or None,
        "link": link,
        "alert": {
            "id": read("pk"),
            "check": alert.check_name,
            "target": read("target") or "",
            "key": read("key") or "",
            "state": str(read("state") or ""),
            "severity": str(read("severity") or ""),
            "message": read("message") or "",
            "value": _number(read("value")),
            "peak": _number(read("peak")),
            "threshold": _number(read("threshold")),
            "started_at": _iso(read("started_at")),
            "fired_at": _iso(read("fired_at")),
            "resolved_at": _iso(read("resolved_at")),
        },
    }
