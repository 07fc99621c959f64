"""Input checks for actions, before anything touches NATS. Pure: values in, values or
InvalidInput out, with a message that says what is wrong."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from streams.subjects import InvalidSubject, validate_filter_subject, validate_publish_subject

STREAM_NAME = re.compile(r"^[^\s.*>/\\]{1,255}$")
HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # printable ASCII without ':'
PREVIEW_CHARS = 200


class InvalidInput(ValueError):
    pass


def _whole_number(value, name: str, *, minimum: int) -> int:
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be a whole number")
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"-?\d+", value):
            raise InvalidInput(f"{name} must be a whole number, not {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise InvalidInput(f"{name} must be a whole number")
    if value < minimum:
        raise InvalidInput(f"{name} must be at least {minimum}")
    return value


def stream_name(value) -> str:
    if not isinstance(value, str) or not STREAM_NAME.match(value):
        raise InvalidInput("a stream name has 1 to 255 characters without spaces, '.', '*', '>', '/' or '\\'")
    return value


def sequence(value, name: str = "sequence") -> int:
    return _whole_number(value, name, minimum=1)


@dataclass(frozen=True)
class PurgeRequest:
    subject: str | None = None
    keep: int | None = None
    seq: int | None = None

    @property
    def mode(self) -> str:
        if self.keep is not None:
            return "keep"
        if self.seq is not None:
            return "below sequence"
        return "subject" if self.subject else "all"

    def as_dict(self) -> dict:
        return {key: value for key, value in (("subject", self.subject), ("keep", self.keep), ("seq", self.seq))
                if value is not None}


def purge_request(data: dict) -> PurgeRequest:
    if not isinstance(data, dict):
        raise InvalidInput("expected a JSON object")
    unknown = set(data) - {"subject", "keep", "seq"}
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}")
    subject = data.get("subject") or None
    keep = data.get("keep")
    seq = data.get("seq")
    if subject is not None:
        try:
            validate_filter_subject(subject)
        except InvalidSubject as exc:
            raise InvalidInput(str(exc)) from None
    keep = None if keep in (None, "") else _whole_number(keep, "keep", minimum=0)
    seq = None if seq in (None, "") else _whole_number(seq, "seq", minimum=1)
    if keep is not None and seq is not None:
        raise InvalidInput("give keep or seq, not both")
    return PurgeRequest(subject=subject, keep=keep, seq=seq)


@dataclass(frozen=True)
class PublishRequest:
    subject: str
    data: bytes
    headers: dict[str, str]
    as_request: bool = False
    timeout: float = 2.0

    def audit_parameters(self) -> dict:
        text = self.data[:PREVIEW_CHARS].decode("utf-8", "replace")
        return {"subject": self.subject, "size": len(self.data), "payload_preview": text,
                "headers": sorted(self.headers), "request": self.as_request}


def publish_request(data: dict, *, max_payload: int | None) -> PublishRequest:
    if not isinstance(data, dict):
        raise InvalidInput("expected a JSON object")
    unknown = set(data) - {"subject", "data", "data_base64", "headers", "request", "timeout"}
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}")
    try:
        subject = validate_publish_subject(data.get("subject") or "")
    except InvalidSubject as exc:
        raise InvalidInput(str(exc)) from None
    if data.get("data_base64") is not None:
        try:
            payload = base64.b64decode(data["data_base64"], validate=True)
        except (ValueError, TypeError):
            raise InvalidInput("data_base64 is not valid base64") from None
    else:
        text = data.get("data", "")
        if not isinstance(text, str):
            raise InvalidInput("data must be text (or give data_base64)")
        payload = text.encode()
    if max_payload and len(payload) > max_payload:
        raise InvalidInput(f"payload of {len(payload)} bytes exceeds the server's max_payload of {max_payload} bytes")
    headers = data.get("headers") or {}
    if not isinstance(headers, dict):
        raise InvalidInput("headers must be an object of names to text values")
    clean_headers = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not HEADER_NAME.match(name):
            raise InvalidInput(f"header name {name!r} is not valid (printable characters, no ':' or spaces)")
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            raise InvalidInput(f"header {name!r} must be one line of text")
        clean_headers[name] = value
    timeout = data.get("timeout", 2.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0.1 <= timeout <= 60:
        raise InvalidInput("timeout must be a number of seconds between 0.1 and 60")
    return PublishRequest(subject=subject, data=payload, headers=clean_headers,
                          as_request=bool(data.get("request")), timeout=float(timeout))


LIMIT_FIELDS = ("max_msgs", "max_bytes", "max_age", "max_msgs_per_subject", "discard")


def limits_change(current_config: dict, data: dict) -> dict:
    """The stream config with new limits; -1 means unlimited; max_age in seconds (0: unlimited)."""
    config = dict(current_config)
    for name in ("max_msgs", "max_bytes", "max_msgs_per_subject"):
        if name in data and data[name] not in (None, ""):
            config[name] = _whole_number(data[name], name, minimum=-1)
    if "max_age" in data and data["max_age"] not in (None, ""):
        config["max_age"] = _whole_number(data["max_age"], "max_age (seconds)", minimum=0) * 1_000_000_000
    if "discard" in data and data["discard"] not in (None, ""):
        if data["discard"] not in ("old", "new"):
            raise InvalidInput("discard must be 'old' or 'new'")
        config["discard"] = data["discard"]
    return config


def config_diff(before: dict, after: dict) -> list[tuple[str, object, object]]:
    return [(key, before.get(key), after.get(key)) for key in LIMIT_FIELDS if before.get(key) != after.get(key)]


def new_stream_config(data: dict) -> dict:
    name = stream_name(data.get("name"))
    subjects = data.get("subjects") or []
    if isinstance(subjects, str):
        subjects = [part.strip() for part in re.split(r"[,\s]+", subjects) if part.strip()]
    if not subjects:
        raise InvalidInput("give at least one subject")
    for subject in subjects:
        try:
            validate_filter_subject(subject)
        except InvalidSubject as exc:
            raise InvalidInput(str(exc)) from None
    storage = data.get("storage") or "file"
    if storage not in ("file", "memory"):
        raise InvalidInput("storage must be 'file' or 'memory'")
    retention = data.get("retention") or "limits"
    if retention not in ("limits", "interest", "workqueue"):
        raise InvalidInput("retention must be 'limits', 'interest' or 'workqueue'")
    replicas = _whole_number(data.get("replicas") or 1, "replicas", minimum=1)
    if replicas > 5:
        raise InvalidInput("replicas must be between 1 and 5")
    base = {"name": name, "subjects": subjects, "storage": storage, "retention": retention,
            "num_replicas": replicas, "max_msgs": -1, "max_bytes": -1, "max_age": 0,
            "max_msgs_per_subject": -1, "discard": "old"}
    return limits_change(base, data)
