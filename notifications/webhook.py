"""The only module that sends notification webhooks (httpx). Bounded by a timeout; failures surface
as WebhookError with a message that never holds the URL (it may carry a secret)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import httpx

USER_AGENT = "natsdash-notifications/1"


class WebhookError(Exception):
    """The receiver could not be reached or did not answer in time; str() is for the delivery log."""


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def post_json(url: str, body: dict, *, timeout: float, delivery_id: int | None = None) -> WebhookResponse:
    """POST `body` as JSON; any answer is returned (the caller judges the status code). The answer's
    body is never read back: the URL may point inside the network, and what it says is not ours
    to show."""
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if delivery_id is not None:
        headers["X-Natsdash-Delivery"] = str(delivery_id)  # receivers may use it to drop duplicates
    content = json.dumps(body, separators=(",", ":")).encode()
    started = time.monotonic()
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
            response = client.post(url, content=content, headers=headers)
    except httpx.TimeoutException:
        raise WebhookError(f"no answer within {timeout:g}s") from None
    except httpx.ConnectError as exc:
        raise WebhookError(f"connection failed: {_reason(exc)}") from None
    except httpx.HTTPError as exc:
        raise WebhookError(f"{type(exc).__name__}: {_reason(exc)}") from None
    elapsed_ms = (time.monotonic() - started) * 1000
    return WebhookResponse(status_code=response.status_code, elapsed_ms=round(elapsed_ms, 1))


def _reason(exc: Exception) -> str:
    # httpx messages can quote the request URL; keep only the underlying reason.
    cause = exc.__context__ or exc.__cause__
    text = str(cause or exc) or type(exc).__name__
    return text if "://" not in text else type(exc).__name__
