"""The time of a Kafka record, as flows use it for arrival time and dead letters."""

from __future__ import annotations

import time
from typing import Any

from bytewax.connectors.kafka import KafkaSourceMessage


def record_timestamp_ms(msg: KafkaSourceMessage[Any, Any]) -> int:
    """The record's timestamp (set by its producer: the ingest stamps the MQTT receive time),
    or now when the record has none - so a replay sees the same times as the first run."""
    ts = msg.timestamp[1] if msg.timestamp else -1
    return ts if ts > 0 else int(time.time() * 1000)
