"""Dead-letter records: what could not be processed, why, and the original bytes.

Format (JSON): ``{"reason", "source_topic", "payload", "payload_encoding", "received_at"}``.
``payload`` is the original text, or base64 when it is not UTF-8 (then
``payload_encoding`` is ``"base64"``, else ``"utf-8"``). ``received_at`` is ISO 8601 UTC.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True)
class DeadLetter:
    """An input that was rejected, with the reason a person can act on."""

    reason: str
    source_topic: str
    payload: bytes
    received_at_ms: int

    def to_json(self) -> bytes:
        try:
            text, encoding = self.payload.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(self.payload).decode("ascii"), "base64"
        received = datetime.fromtimestamp(self.received_at_ms / 1000, tz=timezone.utc)
        return json.dumps({
            "reason": self.reason,
            "source_topic": self.source_topic,
            "payload": text,
            "payload_encoding": encoding,
            "received_at": received.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }).encode("utf-8")
