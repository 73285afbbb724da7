"""Where collected quotes go: two callbacks, so the collector and the market simulator never know
about Kafka or files.

``produce_outputs`` adapts any ``produce(topic, key, value)`` callable (a Kafka producer, a test
list) to the two topics of the contract.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import orjson

from contracts.exchange_health import ExchangeStatus
from contracts.quote import Quote
from settings.topics import CRYPTO_DEADLETTER, CRYPTO_EXCHANGE_STATUS, CRYPTO_TICKERS

Produce = Callable[[str, str, bytes], None]


@dataclass(frozen=True)
class Outputs:
    """``on_quote`` gets each valid quote, ``on_dead`` each dead-letter record; ``failure`` says why
    records stopped reaching their destination (None while they do): the collector stops on it.
    ``on_status`` gets the collector's per-exchange status records (docs/exchange-health.md)."""

    on_quote: Callable[[Quote], None]
    on_dead: Callable[[dict[str, Any]], None]
    failure: Callable[[], str | None] = lambda: None
    on_status: Callable[[ExchangeStatus], None] = lambda _status: None


def produce_outputs(produce: Produce, tickers_topic: str = CRYPTO_TICKERS, dead_topic: str = CRYPTO_DEADLETTER,
                    failure: Callable[[], str | None] | None = None,
                    status_topic: str = CRYPTO_EXCHANGE_STATUS) -> Outputs:
    """Quotes as JSON keyed by symbol (``Quote.partition_key``); dead letters as JSON keyed by their source;
    exchange status records as JSON keyed by exchange. ``failure``: the producer's delivery error
    (``KafkaProduce.failure``)."""
    return Outputs(
        on_quote=lambda q: produce(tickers_topic, q.partition_key, q.to_json()),
        on_dead=lambda d: produce(dead_topic, str(d.get("source_topic", "")), orjson.dumps(d)),
        failure=failure or (lambda: None),
        on_status=lambda st: produce(status_topic, st.exchange, st.to_json()),
    )


def jsonl_outputs(stream: TextIO | None = None) -> Outputs:
    """One JSON line per record on ``stream`` (stdout): ``{"topic", "key", "value"}``."""
    out = stream or sys.stdout

    def write(topic: str, key: str, value: bytes) -> None:
        out.write(f'{{"topic":"{topic}","key":{orjson.dumps(key).decode()},"value":{value.decode()}}}\n')

    return produce_outputs(write)
