"""Webhook channel: POST the alert JSON as it came from ``fleet.alerts``.

2xx = sent. 408, 429, 5xx, timeouts and connection errors are transient. Any other status
(other 4xx, and 3xx because a POST is not re-sent to another address behind the owner's back)
is permanent: the request will not get better by repeating it.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from notifier.recipients import WEBHOOK, Delivery
from notifier.retry import AttemptResult, Outcome

USER_AGENT = "ticktrack-notifier/0.1"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # surfaces as HTTPError with the 3xx status


def classify_status(status: int, retry_after: str | None = None) -> AttemptResult:
    """Map an HTTP status to an outcome; Retry-After in seconds is passed on as a hint."""
    if 200 <= status < 300:
        return AttemptResult(Outcome.SENT, f"HTTP {status}")
    hint: float | None = None
    if retry_after is not None and retry_after.strip().isdigit():
        hint = float(retry_after.strip())
    if status in (408, 429) or status >= 500:
        return AttemptResult(Outcome.RETRY, f"HTTP {status}", hint)
    return AttemptResult(Outcome.PERMANENT, f"HTTP {status}")


class WebhookChannel:
    """POSTs with a timeout; headers from the recipients file are added to every request."""

    name = WEBHOOK

    def __init__(self, timeout_s: float = 10.0) -> None:
        self._timeout_s = timeout_s
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(self, alert: Mapping[str, Any], delivery: Delivery, delivery_id: str) -> AttemptResult:
        body = json.dumps(alert, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
                   "Idempotency-Key": delivery_id, "X-Ticktrack-Alert-Id": str(alert.get("alert_id", "")),
                   **dict(delivery.headers)}
        request = urllib.request.Request(delivery.target, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self._timeout_s) as response:
                response.read(65536)
                return classify_status(response.status)
        except urllib.error.HTTPError as exc:
            return classify_status(exc.code, exc.headers.get("Retry-After") if exc.headers else None)
        except http.client.InvalidURL as exc:
            return AttemptResult(Outcome.PERMANENT, f"invalid URL: {exc}")
        except http.client.HTTPException as exc:  # garbled or cut-off response
            return AttemptResult(Outcome.RETRY, f"{type(exc).__name__}: {exc}")
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return AttemptResult(Outcome.RETRY, f"{type(exc).__name__}: {reason}")
        except ValueError as exc:  # malformed URL that slipped past validation
            return AttemptResult(Outcome.PERMANENT, f"invalid request: {exc}")
