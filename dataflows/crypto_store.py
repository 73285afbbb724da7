"""Crypto store: the only crypto process that writes InfluxDB (bucket ``crypto``).

Reads ``crypto.tickers`` (every quote -> measurement ``quotes``) and ``crypto.points`` (spreads,
extremes and OHLC bars computed by the prices flow, as line protocol) and writes them. A quote
that breaks the contract is skipped here and counted in the log: the prices flow dead-letters
it (one dead letter per bad quote, not two). A points record that does not decode, or a point
InfluxDB refuses, becomes a dead letter on ``crypto.deadletter``; an InfluxDB outage pauses
this flow only - spreads and arbitrage alerts keep flowing.

Run: ``python -m bytewax.run "dataflows.crypto_store:build_flow()" -r var/recovery/crypto-store``.
"""

from __future__ import annotations

from functools import partial

import bytewax.operators as op
import structlog
from bytewax.dataflow import Dataflow, Stream
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END
from influxdb_client import Point

from contracts.deadletter import DeadLetter
from contracts.line_protocol import decode_line
from contracts.quote import InvalidQuote, from_json
from dataflows.store_output import write_or_dead_letter
from settings.crypto_flows import CryptoStoreSettings
from settings.errors import load_settings
from settings.logs import configure_logging
from settings.stack import StackSettings, load_stack_settings
from sinks.influx_points.crypto import quote_point
from sources.kafka_messages import KafkaMessage, kafka_messages
from sources.kafka_time import record_timestamp_ms
from sources.on_run import OnRunFixed

log = structlog.get_logger(__name__)


def to_write(msg: KafkaMessage, points_topic: str) -> Point | str | DeadLetter | None:
    """One record -> what to write; None for an invalid quote (the prices flow dead-letters those)."""
    try:
        if msg.topic == points_topic:
            return decode_line(msg.value)
        return quote_point(from_json(msg.value))
    except InvalidQuote as exc:
        log.warning("quote_skipped", topic=msg.topic, partition=msg.partition, offset=msg.offset, reason=exc.reason)
        return None
    except Exception as exc:  # noqa: BLE001 - any per-record failure is a dead letter, never a stopped flow
        return DeadLetter(f"crypto_store: {type(exc).__name__}: {str(exc)[:300]}", msg.topic or "", msg.value or b"",
                          record_timestamp_ms(msg))


def build_flow(store: CryptoStoreSettings | None = None, stack: StackSettings | None = None) -> Dataflow:
    store = store or load_settings(CryptoStoreSettings)
    stack = stack or load_stack_settings()
    kafka = stack.kafka_config()
    flow = Dataflow("crypto_store")
    source = kafka_messages([kafka["bootstrap.servers"]], [store.tickers_topic, store.points_topic],
                            starting_offset=OFFSET_BEGINNING if store.from_beginning else OFFSET_END, add_config=kafka)
    items: Stream[Point | str | DeadLetter] = op.filter_map("to_write", op.input("kafka_in", flow, OnRunFixed(source, configure_logging)),
                                                            partial(to_write, points_topic=store.points_topic))
    write_or_dead_letter(items, stack, stack.influx_bucket_crypto, store.deadletter_topic)
    return flow
