"""The quote contract: what is valid, the reasons for what is not, the wire format."""

from __future__ import annotations

import math

import orjson
import pytest

from contracts.quote import InvalidQuote, Quote, dead_letter, from_json, quote_key, validate_quote

GOOD = {
    "exchange": "binance", "symbol": "BTC/USDT", "bid": 64950.0, "ask": 64950.01, "last": 64950.0,
    "bid_size": 1.5, "ask_size": 0.2, "base_volume": 18234.5, "exchange_ts_ms": 1767225600123, "recv_ts_ms": 1767225600200, "source": "ccxt",
}  # fmt: skip


def test_valid_quote_round_trips_through_json() -> None:
    quote = validate_quote(GOOD)
    assert quote.mid == pytest.approx(64950.005)
    assert quote.key == "binance:BTC/USDT" == quote_key("binance", "BTC/USDT")
    assert from_json(quote.to_json()) == quote
    assert quote.to_dict() == GOOD


def test_optional_fields_may_be_missing_and_string_numbers_are_accepted() -> None:
    quote = validate_quote({"exchange": "kraken", "symbol": "ETH/USDT", "bid": "3201.35", "ask": "3201.55", "recv_ts_ms": 1767225600000})
    assert (quote.bid, quote.ask, quote.last, quote.exchange_ts_ms, quote.bid_size) == (3201.35, 3201.55, None, None, None)
    assert quote.source == "unknown"  # a record written before quotes carried their source


def test_source_says_whether_a_price_is_an_exchange_s_or_simulated() -> None:
    assert validate_quote({**GOOD, "source": "simulated"}).source == "simulated"
    with pytest.raises(InvalidQuote, match="source: not one of ccxt, simulated, unknown: 'binance'"):
        validate_quote({**GOOD, "source": "binance"})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"bid": 64960.0}, "crossed book: bid 64960.0 > ask 64950.01"),
        ({"bid": 0}, "bid: price must be positive, got 0"),
        ({"ask": -1.0}, "ask: price must be positive, got -1.0"),
        ({"last": 0.0}, "last: price must be positive, got 0.0"),
        ({"bid": math.nan}, "bid: not finite: nan"),
        ({"ask": math.inf}, "ask: not finite: inf"),
        ({"bid": None}, "bid: missing"),
        ({"ask": "abc"}, "ask: not a number: 'abc'"),
        ({"ask": True}, "ask: not a number: 'True'"),
        ({"bid": 2e9, "ask": 2.1e9}, "bid: 2000000000.0 outside [1e-12, 1e+09]"),
        ({"ask": 200000.0}, "absurd book: ask 200000.0 is more than 2x bid 64950.0"),
        ({"base_volume": -5}, "base_volume: -5.0 outside [0, 1e+15]"),
        ({"symbol": "BTCUSDT"}, "symbol: not a ccxt unified symbol (BASE/QUOTE): 'BTCUSDT'"),
        ({"exchange": "Binance Global"}, "exchange: not a ccxt exchange id: 'Binance Global'"),
        ({"recv_ts_ms": None}, "recv_ts_ms: missing"),
        ({"exchange_ts_ms": 1767225600200 + 2 * 86_400_000},
         "exchange_ts_ms: 1767398400200 is more than 300 s after recv_ts_ms 1767225600200 (exchange clock wrong?)"),
    ],
)
def test_invalid_quotes_raise_with_reason(change: dict, reason: str) -> None:
    with pytest.raises(InvalidQuote) as err:
        validate_quote({**GOOD, **change})
    assert err.value.reason == reason


def test_locked_book_bid_equal_ask_is_valid_and_derivative_symbols_pass() -> None:
    assert validate_quote({**GOOD, "bid": 100.0, "ask": 100.0}).mid == 100.0
    assert validate_quote({**GOOD, "symbol": "BTC/USDT:USDT"}).symbol == "BTC/USDT:USDT"


def test_from_json_rejects_garbage() -> None:
    with pytest.raises(InvalidQuote, match="payload is not JSON"):
        from_json(b"{nope")
    with pytest.raises(InvalidQuote, match="payload is not a JSON object"):
        from_json(b"[1, 2]")


def test_dead_letter_record_shape() -> None:
    record = dead_letter("crossed book", "ccxt:binance", b'{"bid": 2}', 1767225600000)
    assert record == {"reason": "crossed book", "source_topic": "ccxt:binance", "payload": '{"bid": 2}',
                      "payload_encoding": "utf-8", "payload_bytes": 10,
                      "payload_sha256": "ad6e1fb52bb125516a7e1b0ef888007812c5777c5ff5d4bc4ef24ce1ecd0d285",
                      "payload_truncated": False, "received_at": "2026-01-01T00:00:00.000Z"}
    assert b'"source"' not in orjson.dumps(record)


def test_quote_is_immutable() -> None:
    quote = validate_quote(GOOD)
    with pytest.raises(AttributeError):
        quote.bid = 1.0  # type: ignore[misc]
    assert isinstance(quote, Quote)


def test_avro_schema_matches_the_record() -> None:
    import io
    import json
    from dataclasses import fields
    from pathlib import Path

    import fastavro

    schema = fastavro.parse_schema(json.loads((Path(__file__).resolve().parents[3] / "schemas" / "quote.avsc").read_text()))
    assert [f["name"] for f in schema["fields"]] == [f.name for f in fields(Quote)]
    quote = validate_quote({**GOOD, "exchange_ts_ms": None, "last": None})
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, quote.to_dict())
    buffer.seek(0)
    assert fastavro.schemaless_reader(buffer, schema) == quote.to_dict()
