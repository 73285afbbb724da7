"""Dead-letter records: what could not be processed, why, and the original bytes - bounded.

One format for every dead-letter topic (``fleet.deadletter``, ``crypto.deadletter``, the
sinks' refusals), JSON::

    {"reason", "source_topic", "payload", "payload_encoding", "payload_bytes",
     "payload_sha256", "payload_truncated", "received_at"}

``payload`` is the original text, or base64 when it is not UTF-8 (then ``payload_encoding``
is ``"base64"``, else ``"utf-8"``). A payload of up to ``MAX_KEPT_PAYLOAD_BYTES`` (64 KiB, the
telemetry contract's own limit; ``max_kept_bytes`` lowers it, down to the prefix, for a record
Kafka refused as too large) is kept whole; a larger one keeps only its first
``TRUNCATED_PREFIX_BYTES`` (1 KiB; as text it ends at the last whole UTF-8 character, so up
to 3 bytes fewer) with ``payload_truncated`` true. ``payload_bytes`` and ``payload_sha256``
are always those of the whole original payload. ``reason`` is cut at ``MAX_REASON_CHARS``.
So a dead letter stays far below Kafka's 1 MB message limit whatever arrived (a 1.5 MB
payload used to become a 1.5 MB dead letter that Kafka refused, in a crash loop).
``received_at`` is ISO 8601 UTC with milliseconds.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_KEPT_PAYLOAD_BYTES = 64 * 1024
TRUNCATED_PREFIX_BYTES = 1024
MAX_REASON_CHARS = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _text(data: bytes, truncated: bool) -> tuple[str, str]:
    """(text, encoding): UTF-8 when the bytes are (a cut may end inside a character), else base64."""
    for cut in range(4 if truncated else 1):
        try:
            return data[: len(data) - cut].decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            continue
    return base64.b64encode(data).decode("ascii"), "base64"


def _iso(ms: int) -> str:
    try:
        return (_EPOCH + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except OverflowError:
        return str(ms)


@dataclass(frozen=True)
class DeadLetter:
    """An input that was rejected, with the reason a person can act on."""

    reason: str
    source_topic: str
    payload: bytes
    received_at_ms: int
    # Keep at most this much whole; a sink refused for size keeps only the prefix (TRUNCATED_PREFIX_BYTES).
    max_kept_bytes: int = MAX_KEPT_PAYLOAD_BYTES

    def to_dict(self) -> dict[str, Any]:
        size = len(self.payload)
        truncated = size > max(self.max_kept_bytes, TRUNCATED_PREFIX_BYTES)
        text, encoding = _text(self.payload[:TRUNCATED_PREFIX_BYTES] if truncated else self.payload, truncated)
        reason = self.reason if len(self.reason) <= MAX_REASON_CHARS else self.reason[: MAX_REASON_CHARS - 3] + "..."
        return {
            "reason": reason,
            "source_topic": self.source_topic,
            "payload": text,
            "payload_encoding": encoding,
            "payload_bytes": size,
            "payload_sha256": hashlib.sha256(self.payload).hexdigest(),
            "payload_truncated": truncated,
            "received_at": _iso(self.received_at_ms),
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict()).encode("utf-8")


def payload_bytes(payload: Any) -> bytes:
    """The bytes to keep of an input that is not bytes already: text as UTF-8, anything else as JSON."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogatepass")
    try:
        return json.dumps(payload, default=repr, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return repr(payload).encode("utf-8", "backslashreplace")
