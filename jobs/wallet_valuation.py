"""Value every trader's wallets from the live spreads every minute and store the history in InfluxDB.

Reads ``crypto.spreads`` (from ``WALLET_PRICE_MAX_AGE_S`` ago, so it starts with prices), keeps the
latest spread per symbol, and every ``WALLET_VALUATION_INTERVAL_S`` (60 s) values each account and
each owner's total at the best bid net of the taker fee and at the mid (docs/wallets.md). The points
(``wallet_valuation``, ``wallet_asset``) go to ``crypto.points``, which the crypto store writes to
InfluxDB. ``--once`` values once (after waiting for prices) and exits. Progress: one log line a tick.
"""

from __future__ import annotations

import argparse
import signal
import time
from types import FrameType

import orjson
import structlog
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from contracts.line_protocol import encode_point
from contracts.spread import SpreadRecord
from rules.crypto.fees import build_fee_table
from settings.errors import ConfigError, run_main
from settings.logs import configure_logging
from settings.rules_env import load_crypto_settings
from settings.stack import load_stack_settings
from wallets.config import load_wallet_settings, open_wallet_store
from wallets.store import WalletScope
from wallets.valuations import owner_valuations, valuation_points

log = structlog.get_logger(__name__)
EVERYONE = WalletScope(all_owners=True)


def _consumer(kafka: dict[str, str], topic: str, since_ms: int) -> Consumer:
    """A consumer of every partition of ``topic`` from ``since_ms`` on (no group offsets kept)."""
    c = Consumer({**kafka, "group.id": "ticktrack-wallet-valuation", "enable.auto.commit": "false",
                  "auto.offset.reset": "latest", "log_level": 2})
    meta = c.list_topics(topic, timeout=10).topics[topic]
    if meta.error is not None:
        raise ConfigError(f"Kafka topic {topic} (WALLET_SPREADS_TOPIC): {meta.error}")
    wanted = [TopicPartition(topic, p, since_ms) for p in sorted(meta.partitions)]
    c.assign(c.offsets_for_times(wanted, timeout=10))
    return c


def _spread(value: bytes | None) -> SpreadRecord | None:
    try:
        d = orjson.loads(value or b"")
        return SpreadRecord(**d) if isinstance(d, dict) else None
    except (orjson.JSONDecodeError, TypeError):
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jobs.wallet_valuation", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--once", action="store_true", help="value once, write the points and exit")
    ap.add_argument("--wait-s", type=float, default=30.0, help="with --once: seconds to wait for a spread of every held asset")
    args = ap.parse_args(argv)
    configure_logging()
    ws = load_wallet_settings()
    crypto = load_crypto_settings()
    stack = load_stack_settings()
    store = open_wallet_store(ws, crypto)
    fees = build_fee_table(crypto.exchanges, crypto.taker_fees, crypto.default_taker_fee)
    max_age_ms = int(ws.price_max_age_s * 1000)
    interval_ms = int(ws.valuation_interval_s * 1000)
    consumer = _consumer(stack.kafka_config(), ws.spreads_topic, int(time.time() * 1000) - max_age_ms)
    producer = Producer({**stack.kafka_config(), "enable.idempotence": "true", "log_level": 2})
    stop = False

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    spreads: dict[str, SpreadRecord] = {}
    started = time.monotonic()
    next_tick = time.time() * 1000 if args.once else (time.time() * 1000 // interval_ms + 1) * interval_ms
    log.info("wallet valuation started", spreads_topic=ws.spreads_topic, points_topic=ws.points_topic, interval_s=ws.valuation_interval_s)
    try:
        while not stop:
            for m in consumer.consume(500, 0.5):
                err = m.error()
                if err is not None:
                    if err.code() != KafkaError._PARTITION_EOF:
                        log.warning("spreads consumer error", error=str(err))
                    continue
                s = _spread(m.value())
                if s is not None and (s.symbol not in spreads or s.ts >= spreads[s.symbol].ts):
                    spreads[s.symbol] = s
            now_ms = int(time.time() * 1000)
            if now_ms < next_tick:
                continue
            vals = owner_valuations(store, EVERYONE, spreads, fees, now_ms, max_age_ms)
            unpriced = sorted({a for vs in vals.values() for v in vs for a in v.unpriced})
            if unpriced and time.monotonic() - started < (args.wait_s if args.once else ws.price_max_age_s):
                # warming up: the spreads of some held asset have not come yet - a valuation now would
                # store a dip that never happened; after the warm-up the unpriced count says so instead
                if not args.once:
                    next_tick = (now_ms // interval_ms + 1) * interval_ms
                    log.info("valuation skipped while warming up", unpriced=unpriced)
                continue
            point_ms = now_ms - now_ms % interval_ms
            n = 0
            for owner, vs in vals.items():
                for v in vs:
                    for p in valuation_points(v, point_ms):
                        producer.produce(ws.points_topic, encode_point(p), owner.encode())
                        n += 1
            if producer.flush(30) != 0:
                log.error("points not delivered to Kafka within 30 s", topic=ws.points_topic)
            log.info("wallets valued", owners=len(vals), points=n, symbols_priced=len(spreads), unpriced=unpriced, point_ms=point_ms)
            if args.once:
                return 0
            next_tick = (now_ms // interval_ms + 1) * interval_ms
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
