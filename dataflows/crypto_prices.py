"""Crypto prices: ``crypto.tickers`` -> spreads, extremes, 1-minute OHLC, arbitrage alerts - all on Kafka.

Run: ``python -m bytewax.run "dataflows.crypto_prices:build_flow()" -r var/recovery/crypto`` (with
recovery a restart resumes at the stored offsets with the books it had; at-least-once, and InfluxDB
points are idempotent). Wiring only: every rule is ``rules.crypto``, every record's shape
``contracts``. The flow never talks to InfluxDB: its points go to ``crypto.points`` as line
protocol and ``dataflows/crypto_store.py`` writes them (with every quote). Topology (docs/crypto.md):

    tickers -> parse --invalid--> crypto.deadletter
               |-> by symbol -> SymbolRules -> spreads (crypto.spreads + crypto.points), extremes (crypto.points)
               |                                 '-> ArbitrageRules -> crypto.alerts
               '-> by exchange:symbol -> 1-minute event-time window -> crypto.points (ohlc_1m)
                                                        '-> late quotes: counted and logged
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard, cast

import bytewax.operators as op
import orjson
import structlog
from bytewax.dataflow import Dataflow, Stream
from bytewax.operators.windowing import EventClock, TumblingWindower, fold_window
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END
from influxdb_client import Point

from contracts.line_protocol import encode_point
from contracts.quote import InvalidQuote, Quote, dead_letter, from_json
from rules.crypto.arbitrage import ArbitrageRules
from rules.crypto.config import CryptoSettings
from rules.crypto.ohlc import OHLC, fold_ohlc, merge_ohlc, new_ohlc, ohlc_record, quote_event_time
from rules.crypto.pipeline import SymbolRules
from settings.crypto_flows import CryptoFlowSettings
from settings.errors import load_settings
from settings.logs import configure_logging
from settings.rules_env import load_crypto_settings
from settings.stack import StackSettings, load_stack_settings
from sinks.influx_points.crypto import extremes_point, ohlc_point, spread_point
from sinks.kafka import KafkaProducerSink, KafkaRecord
from sources.kafka_messages import KafkaMessage, kafka_messages
from sources.on_run import OnRunFixed

log = structlog.get_logger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _is_quote(item: Quote | dict[str, Any]) -> TypeGuard[Quote]:
    return isinstance(item, Quote)


def parse_ticker(msg: KafkaMessage) -> Quote | dict[str, Any]:
    """A valid ``Quote``, or the dead-letter record saying why not (consumers never trust producers)."""
    try:
        return from_json(msg.value)
    except InvalidQuote as exc:
        received_ms = msg.timestamp[1] if msg.timestamp and msg.timestamp[1] > 0 else int(datetime.now(UTC).timestamp() * 1000)
        return dead_letter(exc.reason, f"kafka:{msg.topic}", msg.value, received_ms)


def json_record(key: str, doc: dict[str, Any]) -> KafkaRecord:
    return KafkaRecord(key.encode(), orjson.dumps(doc))


class LateQuotes:
    """Counts and logs quotes that arrive after their OHLC window closed (they stay in ``quotes``)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, item: tuple[str, tuple[int, Quote]]) -> None:
        key, (window_id, quote) = item
        self.count += 1
        log.warning("ohlc_late_quote", key=key, symbol=quote.symbol, exchange=quote.exchange, window_id=window_id,
                    recv_ts_ms=quote.recv_ts_ms, late_total=self.count)


def build_flow(flow_settings: CryptoFlowSettings | None = None, stack: StackSettings | None = None,
               rules: CryptoSettings | None = None) -> Dataflow:
    cfg = flow_settings or load_settings(CryptoFlowSettings)
    stack = stack or load_stack_settings()
    crypto = rules or load_crypto_settings()
    symbol_rules = SymbolRules.from_settings(crypto)
    arbitrage = ArbitrageRules.from_settings(crypto)
    kafka = stack.kafka_config()
    window_ms = crypto.ohlc_window_s * 1000

    flow = Dataflow("crypto_prices")
    source = kafka_messages([kafka["bootstrap.servers"]], [cfg.tickers_topic],
                            starting_offset=OFFSET_BEGINNING if cfg.from_beginning else OFFSET_END, add_config=kafka)
    parsed = op.branch("valid", op.map("parse", op.input("kafka_in", flow, OnRunFixed(source, configure_logging)), parse_ticker),
                       _is_quote)
    dead_letters = cast("Stream[dict[str, Any]]", parsed.falses)  # the branch's type guard narrows only its trues
    op.output("deadletter_out", op.map("deadletter_record", dead_letters, lambda d: json_record(d["source_topic"], d)),
              KafkaProducerSink(kafka, cfg.deadletter_topic))
    quotes = parsed.trues

    updates = op.stateful_map("book", op.key_on("by_symbol", quotes, lambda q: q.symbol), symbol_rules.update)
    spreads = op.filter_map_value("spreads", updates, lambda u: u.spread if u else None)
    extremes = op.filter_map_value("extremes", updates, lambda u: u.extremes if u else None)
    alerts = op.flat_map_value("alerts", op.stateful_map("arbitrage", spreads, arbitrage.update), lambda a: a)
    op.output("spreads_out", op.map("spread_record", spreads, lambda kv: json_record(kv[0], kv[1].to_dict())),
              KafkaProducerSink(kafka, cfg.spreads_topic))
    op.output("alerts_out", op.map("alert_record", alerts, lambda kv: json_record(kv[0], kv[1].to_dict())),
              KafkaProducerSink(kafka, cfg.alerts_topic))

    clock = EventClock(quote_event_time, wait_for_system_duration=timedelta(seconds=cfg.ohlc_wait_s))
    windower = TumblingWindower(timedelta(milliseconds=window_ms), align_to=EPOCH)
    bars = fold_window("ohlc", op.key_on("by_key", quotes, lambda q: q.key), clock, windower, new_ohlc, fold_ohlc, merge_ohlc)
    late = LateQuotes()
    op.inspect("late_quotes", bars.late, lambda _step, item: late(item))

    def bar_point(kv: tuple[str, tuple[int, OHLC | None]]) -> Point:
        key, (window_id, acc) = kv
        if acc is None:  # new_ohlc's empty window: fold_window emits only windows that received a quote
            raise RuntimeError(f"OHLC window {window_id} of {key} closed without a quote")
        start = EPOCH + timedelta(milliseconds=window_id * window_ms)
        return ohlc_point(ohlc_record(key, start, start + timedelta(milliseconds=window_ms), acc))

    def point_record(key: str, p: Point) -> KafkaRecord:
        return KafkaRecord(key.encode(), encode_point(p))

    points = op.merge(
        "points",
        op.map("spread_point", spreads, lambda kv: point_record(kv[0], spread_point(kv[1]))),
        op.map("extremes_point", extremes, lambda kv: point_record(kv[0], extremes_point(kv[1]))),
        op.map("ohlc_point", bars.down, lambda kv: point_record(kv[0], bar_point(kv))),
    )
    op.output("points_out", points, KafkaProducerSink(kafka, cfg.points_topic))
    return flow
