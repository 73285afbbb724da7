"""Poison input never stops a flow and loses nothing (pure parts): timestamp bounds in every
form, the ingest step that turns any exception into a dead letter, bounded dead letters and
the quote contract's bounds."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from pathlib import Path

import orjson
import pytest

from contracts import deadletter as dl
from contracts.deadletter import DeadLetter
from contracts.quote import MAX_FUTURE_MS, MAX_TS_AGE_MS, InvalidQuote, dead_letter, from_json, validate_quote
from contracts.telemetry import DAY_MS, MAX_PAYLOAD_BYTES, MAX_TS_FUTURE_MS, InvalidTelemetry, check_timestamp, parse_telemetry
from contracts.telemetry import MAX_TS_AGE_MS as FLEET_MAX_AGE_MS
from dataflows import fleet_ingest
from dataflows.fleet_ingest import validate
from settings.flows import IngestSettings
from sources.mqtt import MqttMessage

REPO = Path(__file__).resolve().parents[2]
TOPIC = "fleet/v1/telemetry"
ARRIVED = 1795600800000  # 2026-11-25T10:00:00Z


def doc(ts: object) -> bytes:
    return json.dumps({"vehicle_id": "v1", "ts": ts, "lat": 52.5, "lon": 13.4, "speed_kmh": 42.5}).encode()


def reason(ts: object, **bounds: int) -> str:
    with pytest.raises(InvalidTelemetry) as exc:
        parse_telemetry(TOPIC, doc(ts), ARRIVED, **bounds)
    return exc.value.reason


@pytest.mark.parametrize(("ts", "expected"), [
    ("0001-01-01T00:00:00+01:00", "ts: '0001-01-01T00:00:00+01:00' is outside 1970..3000"),
    ("0001-01-01T00:00:00-01:00", "ts: '0001-01-01T00:00:00-01:00' is outside 1970..3000"),
    ("9999-12-31T23:59:59Z", "ts: '9999-12-31T23:59:59Z' is outside 1970..3000"),
    ("9999-12-31T23:59:59.999999-14:00", "ts: '9999-12-31T23:59:59.999999-14:00' is outside 1970..3000"),
    ("1970-01-01T00:00:00Z", "ts: 1970-01-01T00:00:00.000Z is more than 90 days before arrival 2026-11-25T10:00:00.000Z"),
    (0, "ts: 1970-01-01T00:00:00.000Z is more than 90 days before arrival 2026-11-25T10:00:00.000Z"),
    (-1, "ts: epoch milliseconds out of range: -1"),
    (-(10**30), "ts: epoch milliseconds out of range: -1000000000000000000000000000000"),
    (1e30, "ts: epoch milliseconds out of range: 1e+30"),
    (10**400, "ts: epoch milliseconds out of range: " + "1" + "0" * 79),
    (True, "ts: must be ISO 8601 with zone or epoch milliseconds"),
    (False, "ts: must be ISO 8601 with zone or epoch milliseconds"),
    (None, "ts: must be ISO 8601 with zone or epoch milliseconds"),
    ([ARRIVED], "ts: must be ISO 8601 with zone or epoch milliseconds"),
    (ARRIVED // 1000, "ts: 1970-01-21T18:46:40.800Z is more than 90 days before arrival 2026-11-25T10:00:00.000Z "
                      "(epoch seconds? ts is in milliseconds)"),
    (ARRIVED - 90 * DAY_MS - 1, "ts: 2026-08-27T09:59:59.999Z is more than 90 days before arrival 2026-11-25T10:00:00.000Z"),
    ("2026-08-27T10:59:59.999+01:00", "ts: 2026-08-27T09:59:59.999Z is more than 90 days before arrival 2026-11-25T10:00:00.000Z"),
    (ARRIVED + 300_001, "ts: 2026-11-25T10:05:00.001Z is more than 300 s after arrival 2026-11-25T10:00:00.000Z (device clock wrong?)"),
    ("2026-11-25T12:00:00+01:00", "ts: 2026-11-25T11:00:00.000Z is more than 300 s after arrival 2026-11-25T10:00:00.000Z (device clock wrong?)"),
    ("2999-12-31T00:00:00Z", "ts: 2999-12-31T00:00:00.000Z is more than 300 s after arrival 2026-11-25T10:00:00.000Z (device clock wrong?)"),
    ("x" * 100, "ts: not ISO 8601: '" + "x" * 64 + "'..."),
    ("2026-11-25T10:00:00Z" + " " * 100, "ts: not ISO 8601: '2026-11-25T10:00:00Z" + " " * 44 + "'..."),
])
def test_timestamp_bounds_in_every_form(ts: object, expected: str) -> None:
    assert reason(ts)[:200] == expected[:200]


def test_bounds_are_inclusive_and_configurable() -> None:
    assert parse_telemetry(TOPIC, doc(ARRIVED - 90 * DAY_MS), ARRIVED).ts_ms == ARRIVED - 90 * DAY_MS
    assert parse_telemetry(TOPIC, doc(ARRIVED + 300_000), ARRIVED).ts_ms == ARRIVED + 300_000
    assert parse_telemetry(TOPIC, doc("2026-11-25T11:05:00+01:00"), ARRIVED).ts_ms == ARRIVED + 300_000
    assert reason(ARRIVED - 2 * DAY_MS, max_age_ms=DAY_MS).startswith("ts: 2026-11-23T10:00:00.000Z is more than 1 days before")
    assert reason(ARRIVED + 1, max_future_ms=0).endswith("is more than 0 s after arrival 2026-11-25T10:00:00.000Z (device clock wrong?)")
    assert check_timestamp(ARRIVED, ARRIVED, 0, 0) == ARRIVED


def test_without_an_arrival_time_the_wall_clock_bounds() -> None:
    now = int(time.time() * 1000)
    assert parse_telemetry(TOPIC, doc(now)).ts_ms == now
    with pytest.raises(InvalidTelemetry, match="more than 300 s after arrival"):
        parse_telemetry(TOPIC, doc(now + 3_600_000))


def test_the_time_is_checked_last_so_other_faults_keep_their_reason() -> None:
    payload = json.dumps({"vehicle_id": "v1", "ts": 0, "lat": 95, "lon": 13.4, "speed_kmh": 1}).encode()
    with pytest.raises(InvalidTelemetry, match="^lat: "):
        parse_telemetry(TOPIC, payload, ARRIVED)


def test_defaults_match_the_stack_and_the_settings() -> None:
    assert FLEET_MAX_AGE_MS == 90 * DAY_MS  # services/stack.sh FLEET_RETENTION_DAYS
    assert MAX_TS_FUTURE_MS == 300_000
    settings = IngestSettings()
    assert settings.ts_max_age_days * DAY_MS == FLEET_MAX_AGE_MS
    assert settings.ts_max_future_s * 1000 == MAX_TS_FUTURE_MS
    assert 'FLEET_RETENTION_DAYS="${FLEET_RETENTION_DAYS:-90}"' in (REPO / "services" / "stack.sh").read_text()


def test_ingest_step_turns_the_0001_timestamp_into_a_dead_letter() -> None:
    out = validate(MqttMessage(TOPIC, doc("0001-01-01T00:00:00+01:00"), ARRIVED))
    assert isinstance(out, DeadLetter)
    assert out.reason == "ts: '0001-01-01T00:00:00+01:00' is outside 1970..3000"
    assert out.payload == doc("0001-01-01T00:00:00+01:00") and out.received_at_ms == ARRIVED


def test_ingest_step_passes_its_bounds() -> None:
    out = validate(MqttMessage(TOPIC, doc(ARRIVED - 2 * DAY_MS), ARRIVED), max_age_ms=DAY_MS)
    assert isinstance(out, DeadLetter) and "more than 1 days before arrival" in out.reason
    assert not isinstance(validate(MqttMessage(TOPIC, doc(ARRIVED - 2 * DAY_MS), ARRIVED)), DeadLetter)


def test_ingest_step_turns_any_exception_into_a_dead_letter(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(fleet_ingest, "parse_telemetry", broken)
    out = validate(MqttMessage(TOPIC, b"{}", ARRIVED))
    assert isinstance(out, DeadLetter)
    assert (out.reason, out.source_topic, out.payload) == ("internal: OverflowError: date value out of range", TOPIC, b"{}")


def test_deadletter_record_key_survives_any_topic() -> None:
    rec = fleet_ingest.deadletter_record(DeadLetter("r", "fleet/\ud800/telemetry", b"x", ARRIVED))
    assert rec.key == b"fleet/\\ud800/telemetry" and json.loads(rec.value)["source_topic"] == "fleet/\ud800/telemetry"


# --- bounded dead letters ---------------------------------------------------------------

def letter(payload: bytes, **kw: object) -> dict:
    return json.loads(DeadLetter(kw.get("reason", "r"), kw.get("topic", "t"), payload, ARRIVED).to_json())  # type: ignore[arg-type]


def test_a_payload_up_to_the_contract_limit_is_kept_whole() -> None:
    assert MAX_PAYLOAD_BYTES <= dl.MAX_KEPT_PAYLOAD_BYTES
    payload = b"a" * dl.MAX_KEPT_PAYLOAD_BYTES
    d = letter(payload)
    assert d["payload"].encode() == payload and d["payload_truncated"] is False
    assert d["payload_bytes"] == len(payload) and d["payload_sha256"] == hashlib.sha256(payload).hexdigest()


def test_a_payload_over_the_limit_keeps_its_first_kib_its_length_and_sha256() -> None:
    payload = bytes(range(ord("a"), ord("z") + 1)) * 57_693 + b"tail"  # 1,500,022 bytes
    d = letter(payload)
    assert d["payload"] == payload[:1024].decode() and d["payload_encoding"] == "utf-8"
    assert (d["payload_bytes"], d["payload_truncated"]) == (1_500_022, True)
    assert d["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert len(DeadLetter("r", "t", payload, ARRIVED).to_json()) < 1400


def test_one_byte_over_the_limit_is_truncated() -> None:
    d = letter(b"b" * (dl.MAX_KEPT_PAYLOAD_BYTES + 1))
    assert d["payload"] == "b" * 1024 and d["payload_truncated"] is True


def test_a_cut_inside_a_utf8_character_ends_at_the_last_whole_one() -> None:
    payload = "€".encode() * 30_000  # 3 bytes each: 1,024 = 341 * 3 + 1
    d = letter(payload)
    assert d["payload_encoding"] == "utf-8" and d["payload"] == "€" * 341
    assert payload.startswith(d["payload"].encode())


def test_a_binary_payload_over_the_limit_keeps_exactly_1024_bytes_as_base64() -> None:
    payload = bytes([0xFF, 0x00, 0x80]) * 500_000
    d = letter(payload)
    assert d["payload_encoding"] == "base64" and base64.b64decode(d["payload"]) == payload[:1024]
    assert d["payload_bytes"] == 1_500_000 and d["payload_sha256"] == hashlib.sha256(payload).hexdigest()


def test_the_worst_dead_letter_stays_under_kafkas_default_message_limit() -> None:
    # Largest kept payload of characters that JSON escapes six-fold, on the longest MQTT topic.
    worst = DeadLetter("x" * 10_000, "\u20ac" * 21_845, b"\x01" * dl.MAX_KEPT_PAYLOAD_BYTES, ARRIVED)
    size = len(worst.to_json()) + len(worst.source_topic.encode())  # value + key
    assert size < 1_000_000, size
    assert len(json.loads(worst.to_json())["reason"]) == dl.MAX_REASON_CHARS


# --- crypto uses the same dead letter ---------------------------------------------------

def test_crypto_dead_letters_have_the_one_format_and_keep_bytes() -> None:
    raw = b'{"bid": "\xff"}'
    d = dead_letter("bid: not a number", "kafka:crypto.tickers", raw, ARRIVED)
    assert d == json.loads(DeadLetter("bid: not a number", "kafka:crypto.tickers", raw, ARRIVED).to_json())
    assert d["payload_encoding"] == "base64" and base64.b64decode(d["payload"]) == raw  # no errors="replace" any more
    assert d["source_topic"] == "kafka:crypto.tickers"


def test_crypto_dead_letter_of_a_parsed_ticker_is_its_json_text() -> None:
    ticker = {"symbol": "BTC/USDT", "bid": 10**400, "ask": float("nan"), "when": object()}
    d = dead_letter("bid: too big", "ccxt:kraken", ticker, ARRIVED)
    back = json.loads(d["payload"].replace("NaN", "null"))
    assert back["symbol"] == "BTC/USDT" and back["bid"] == 10**400 and back["when"].startswith("<object")
    big = dead_letter("r", "ccxt:kraken", {"info": "x" * 2_000_000}, ARRIVED)
    assert big["payload_truncated"] is True and big["payload_bytes"] == 2_000_011 and len(orjson.dumps(big)) < 1500


# --- quote bounds ------------------------------------------------------------------------

GOOD = {"exchange": "kraken", "symbol": "BTC/USDT", "bid": 64950.0, "ask": 64950.5, "recv_ts_ms": ARRIVED}


@pytest.mark.parametrize(("change", "expected"), [
    ({"bid": 10**400}, "bid: " + "1" + "0" * 39 + "... outside [1e-12, 1e+09]"),
    ({"ask": -(10**400)}, "ask: price must be positive, got -" + "1" + "0" * 38),
    ({"bid_size": 10**30}, "bid_size: 1e+30 outside [0, 1e+15]"),
    ({"base_volume": 10**400}, "base_volume: " + "1" + "0" * 39 + "... outside [0, 1e+15]"),
    ({"recv_ts_ms": 10**400}, "recv_ts_ms: " + "1" + "0" * 39 + "... outside [1.23077e+12, 4.10244e+12]"),
    ({"exchange_ts_ms": 10**19}, "exchange_ts_ms: 1e+19 outside [1.23077e+12, 4.10244e+12]"),
    ({"exchange_ts_ms": 0}, "exchange_ts_ms: 0.0 outside [1.23077e+12, 4.10244e+12]"),
    ({"exchange_ts_ms": True}, "exchange_ts_ms: not a number: 'True'"),
    ({"bid": float("-inf")}, "bid: not finite: -inf"),
    ({"last": float("nan")}, "last: not finite: nan"),
    ({"bid": "NaN"}, "bid: not finite: 'NaN'"),
    ({"ask": "-Infinity"}, "ask: not finite: '-Infinity'"),
    ({"bid": "1e400"}, "bid: not finite: '1e400'"),
    ({"bid": "6_4950"}, "bid: not a number: '6_4950'"),
    ({"bid": " 64950"}, "bid: not a number: ' 64950'"),
    ({"bid": "9" * 100}, "bid: not a number: '" + "9" * 40 + "'"),
    ({"exchange_ts_ms": ARRIVED + MAX_FUTURE_MS + 1},
     f"exchange_ts_ms: {ARRIVED + 300_001} is more than 300 s after recv_ts_ms {ARRIVED} (exchange clock wrong?)"),
    ({"exchange_ts_ms": ARRIVED - MAX_TS_AGE_MS - 1},
     f"exchange_ts_ms: {ARRIVED - 30 * DAY_MS - 1} is more than 30 days before recv_ts_ms {ARRIVED}"),
])
def test_quote_bounds(change: dict, expected: str) -> None:
    with pytest.raises(InvalidQuote) as exc:
        validate_quote({**GOOD, **change})
    assert exc.value.reason == expected


def test_quote_time_bounds_are_inclusive_and_configurable() -> None:
    assert validate_quote({**GOOD, "exchange_ts_ms": ARRIVED + MAX_FUTURE_MS}).exchange_ts_ms == ARRIVED + 300_000
    assert validate_quote({**GOOD, "exchange_ts_ms": ARRIVED - MAX_TS_AGE_MS}).exchange_ts_ms == ARRIVED - 30 * DAY_MS
    assert validate_quote({**GOOD, "bid": "64950", "ask": "6.49505e4"}).ask == 64950.5
    with pytest.raises(InvalidQuote, match="more than 1 days before"):
        validate_quote({**GOOD, "exchange_ts_ms": ARRIVED - 2 * DAY_MS}, max_age_ms=DAY_MS)


@pytest.mark.parametrize("raw", [
    b'{"exchange": "kraken", "symbol": "BTC/USDT", "bid": 1' + b"0" * 400 + b', "ask": 2, "recv_ts_ms": 1795600800000}',
    b'{"exchange": "kraken", "symbol": "BTC/USDT", "bid": 1, "ask": 1.1, "recv_ts_ms": 1' + b"0" * 30 + b"}",
    b'{"exchange": "kraken", "symbol": "BTC/USDT", "bid": 1, "ask": 1.1, "recv_ts_ms": 1795600800000, "exchange_ts_ms": -1}',
    b'{"exchange": "kraken", "symbol": "BTC/USDT", "bid": NaN, "ask": 1.1, "recv_ts_ms": 1795600800000}',
])
def test_from_json_raises_only_invalid_quote(raw: bytes) -> None:
    with pytest.raises(InvalidQuote):
        from_json(raw)


def test_the_brokers_limit_admits_every_payload_the_contract_can_dead_letter() -> None:
    conf = (REPO / "services" / "mosquitto" / "mosquitto.conf.tmpl").read_text()
    (limit,) = re.findall(r"^message_size_limit (\d+)$", conf, re.M)
    assert int(limit) == 4 * MAX_PAYLOAD_BYTES  # documented in docs/telemetry-contract.md
    assert IngestSettings().queue_size * int(limit) <= 256 * 1024 * 1024  # the ingest's queue per worker stays bounded
