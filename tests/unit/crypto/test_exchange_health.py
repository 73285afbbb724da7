"""Exchange health rule (rules/crypto/exchange_health.py), contracts and the collector's status records,
with hand-computed figures: windows, quotes/s, fresh share, staleness, latency percentiles, counter
growth (and a collector restart), every health level with its reason, exclusions set and cleared."""

from __future__ import annotations

import asyncio
import random

import ccxt.async_support as ccxt
import orjson
import pytest

from collectors.poller import ExchangePoller
from collectors.runner import run_collector
from contracts.exchange_health import (
    ExchangeHealth,
    ExchangeStatus,
    InvalidHealthInput,
    SpreadExclusions,
    exclusions_from_json,
    status_from_json,
)
from contracts.line_protocol import encode_point
from contracts.quote import Quote
from rules.crypto.exchange_health import HealthRules, HealthState, percentile
from simulators.market import MarketConfig, SimulatedMarket
from simulators.market_exchange import simulated_clients
from sinks.influx_points.exchange_health import health_point
from sinks.quote_outputs import Outputs, produce_outputs
from tests.unit.crypto.test_collector_runner import T0, ScriptedClient, fast_settings

RULES = HealthRules(window_ms=10_000, stale_after_ms=30_000, slow_latency_ms=2_000, min_fresh_share=0.5)
START = 1_767_225_600_000  # a multiple of 10 s


def quote(exchange: str, symbol: str, recv: int, latency: int | None = 100) -> Quote:
    return Quote(exchange, symbol, 100.0, 100.5, None, None, None, None, None if latency is None else START + recv - latency,
                 START + recv, "simulated")


def status(exchange: str, ts: int, state: str = "polling", listed: int | None = 2, started: int = 0, **counters: int) -> ExchangeStatus:
    c = {"polls": 0, "quotes": 0, "dead": 0, "errors": 0, "rate_limits": 0, "timeouts": 0, "reconnects": 0, **counters}
    error = "RateLimitExceeded: 429" if c["errors"] else None
    return ExchangeStatus(exchange, START + ts, START + started, "simulated", state, listed, last_error=error, **c)


def spread(symbol: str, ts: int, *excluded: tuple[str, str, str]) -> SpreadExclusions:
    return SpreadExclusions(symbol, START + ts, tuple(excluded))


def run(events: list, rules: HealthRules = RULES, state: HealthState | None = None) -> tuple[HealthState, list[ExchangeHealth]]:
    out: list[ExchangeHealth] = []
    for e in events:
        state, new = rules.update(state, e)
        out += new
    assert state is not None
    return state, out


def by(records: list[ExchangeHealth], exchange: str) -> list[ExchangeHealth]:
    return [r for r in records if r.exchange == exchange]


def test_one_window_figures_by_hand() -> None:
    _, out = run([
        quote("a", "X", 1_000, latency=100), quote("a", "Y", 2_000, latency=300), quote("a", "X", 3_000, latency=200),
        status("a", 5_000, polls=3, quotes=3), status("b", 5_000, state="backoff", errors=3, rate_limits=2),
        status("a", 10_000),  # past the window's end: closes [0 s, 10 s)
    ])
    a, b = out
    assert (a.exchange, a.window_start_ms, a.window_end_ms) == ("a", START, START + 10_000)
    assert (a.quotes, a.quotes_per_s, a.symbols_listed, a.symbols_fresh, a.fresh_share) == (3, 0.3, 2, 2, 1.0)
    assert a.staleness_s == 7.0  # newest quote at 3 s, window end at 10 s
    assert (a.latency_p50_ms, a.latency_p95_ms, a.latency_max_ms) == (200.0, 300.0, 300.0)
    assert (a.polls, a.errors, a.health, a.reason) == (3, 0, "ok", "")
    assert (b.quotes, b.errors, b.rate_limits, b.fresh_share, b.staleness_s, b.latency_p50_ms) == (0, 3, 2, 0.0, None, None)
    assert b.health == "failing"
    assert b.reason == "no quote, 3 errors (2 rate limits, 0 timeouts) in 10 s: RateLimitExceeded: 429"


def test_counters_grow_per_window_and_restart_from_zero() -> None:
    _, out = run([
        status("b", 1_000, state="backoff", errors=3), status("b", 11_000, state="backoff", errors=5),
        status("b", 21_000, state="backoff", started=20_000, errors=1),  # a new collector task: counted from zero
        status("b", 31_000, state="backoff", started=20_000, errors=1),
        status("b", 41_000, state="backoff", started=20_000, errors=1),
    ])
    assert [r.errors for r in out] == [3, 2, 1, 0]
    assert [r.health for r in out] == ["failing"] * 4  # backing off: failing even without a new error
    assert out[-1].reason == "no quote, the collector backing off after RateLimitExceeded: 429"


def test_collector_shutdown_stops_only_exchanges_without_fresh_quotes() -> None:
    _, out = run([
        status("b", 1_000, state="backoff", errors=1), quote("a", "X", 10_500), quote("a", "Y", 10_500),
        status("b", 11_000, state="ended", errors=1), status("a", 11_000, state="ended"),
        status("c", 20_000), status("c", 30_000),
    ])
    assert [(r.exchange, r.health) for r in out if r.exchange in "ab"] == [
        ("b", "failing"), ("a", "ok"), ("b", "stopped"), ("a", "ok"), ("b", "stopped")]
    assert out[2].reason == "the collector shut down: RateLimitExceeded: 429"


def test_stale_slow_degraded_stopped_by_hand() -> None:
    _, out = run([
        quote("s", "X", 1_000), quote("s", "Y", 1_000), status("s", 2_000),
        quote("w", "X", 1_000, latency=2_500), quote("w", "Y", 2_000, latency=2_100), quote("w", "X", 3_000, latency=1_000),
        status("w", 2_000),
        quote("d", "X", 1_000), quote("d", "Y", 1_000), status("d", 2_000, errors=1),
        status("p", 2_000, state="stopped", errors=1),
        # next window: s silent from here on; everything else keeps up
        quote("w", "X", 30_500), quote("w", "Y", 30_500), quote("d", "X", 30_500), quote("d", "Y", 30_500),
        status("s", 32_000), status("a", 35_000),
        status("a", 40_000),  # closes [30 s, 40 s)
    ])
    first = {r.exchange: r for r in out if r.window_start_ms == START}
    assert first["w"].latency_p50_ms == 2_100.0 and first["w"].health == "slow"
    assert first["w"].reason == "median latency 2.10 s (receive - exchange time) over 2 s"
    assert first["d"].health == "degraded"
    assert first["d"].reason == "quoting, but 1 errors (0 rate limits, 0 timeouts) in 10 s: RateLimitExceeded: 429"
    assert first["p"].health == "stopped" and first["p"].reason == "the collector stopped polling it: RateLimitExceeded: 429"
    assert first["s"].health == "ok"
    later = {r.exchange: r for r in out if r.window_start_ms == START + 30_000}
    assert (later["s"].symbols_fresh, later["s"].fresh_share, later["s"].staleness_s) == (0, 0.0, 39.0)
    assert later["s"].health == "stale"
    assert later["s"].reason == "0 of 2 symbols fresh (newest quote 39 s old; fresh = under 30 s)"
    assert later["w"].health == "ok" and later["d"].health == "ok"  # w's quotes of this window are fast again
    assert later["a"].health == "stale" and later["a"].reason == "0 of 2 symbols fresh (no quote yet; fresh = under 30 s)"


def test_a_slow_exchange_stays_slow_in_a_window_without_quotes() -> None:
    _, (first, quiet) = run([quote("w", "X", 1_000, latency=3_000), status("w", 12_000), status("w", 20_000)])
    assert (first.health, quiet.health, quiet.quotes, quiet.latency_p50_ms) == ("slow", "slow", 0, None)
    assert quiet.reason == "median latency 3.00 s (receive - exchange time, last measured) over 2 s"


def test_exclusions_shown_with_reason_then_cleared() -> None:
    detail = "mid 3.7 is 3600.00% from the median 0.1 of 4 exchanges"
    _, out = run([
        quote("x", "HOT/USDT", 1_000), quote("x", "BTC/USDT", 1_000), status("x", 1_000),
        spread("HOT/USDT", 1_000, ("x", "outlier", detail)), spread("BTC/USDT", 1_000),
        status("x", 10_000),
        spread("HOT/USDT", 11_000),  # no longer excluded
        status("x", 20_000),
    ])
    first, second = out
    assert (first.excluded_outlier, first.excluded_stale, first.health) == (1, 0, "excluded")
    assert first.exclusions == first.reason == f"HOT/USDT outlier: {detail}"
    assert (second.excluded_outlier, second.exclusions, second.health) == (0, "", "ok")


def test_late_events_are_counted_in_the_open_window_and_totals_add_up() -> None:
    rnd = random.Random(3)
    events = [quote(rnd.choice("abc"), rnd.choice(["X", "Y"]), rnd.randint(0, 60_000)) for _ in range(500)]
    events.sort(key=lambda q: q.recv_ts_ms + rnd.randint(-3_000, 3_000))  # out of order, as partitions interleave
    state, out = run([*events, status("a", 200_000)])
    assert sum(r.quotes for r in out) == 500
    assert {e: sum(r.quotes for r in by(out, e)) for e in "abc"} == {e: sum(q.exchange == e for q in events) for e in "abc"}
    assert state.window_start_ms == START + 200_000


def test_a_silent_exchange_is_forgotten_after_evict_after() -> None:
    rules = HealthRules(window_ms=10_000, evict_after_ms=60_000)
    state, out = run([quote("gone", "X", 1_000), *[status("a", t) for t in range(10_000, 100_000, 10_000)]], rules)
    assert [r.window_end_ms - START for r in by(out, "gone")] == [10_000, 20_000, 30_000, 40_000, 50_000, 60_000]
    assert "gone" not in state.exchanges


def test_percentile_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7], 0.95) == 7.0
    assert percentile([1, 2, 3, 4], 0.5) == 2.0 and percentile(list(range(1, 21)), 0.95) == 19.0


def test_status_and_spread_contracts() -> None:
    st = status("okx", 1_000, errors=2, rate_limits=1)
    assert status_from_json(st.to_json()) == st
    with pytest.raises(InvalidHealthInput, match="state: not one of"):
        status_from_json(orjson.dumps({**orjson.loads(st.to_json()), "state": "asleep"}))
    with pytest.raises(InvalidHealthInput, match="errors: not a non-negative integer: '-1'"):
        status_from_json(orjson.dumps({**orjson.loads(st.to_json()), "errors": -1}))
    with pytest.raises(InvalidHealthInput, match="payload is not JSON"):
        status_from_json(b"{nope")
    record = {"symbol": "HOT/USDT", "ts": START, "mid": 1.0, "exchanges_excluded": [
        {"exchange": "bitget", "reason": "outlier", "detail": "far"}]}
    assert exclusions_from_json(orjson.dumps(record)) == SpreadExclusions("HOT/USDT", START, (("bitget", "outlier", "far"),))
    with pytest.raises(InvalidHealthInput, match="exchanges_excluded: not a list"):
        exclusions_from_json(orjson.dumps({**record, "exchanges_excluded": None}))


def test_health_point_fields_and_types() -> None:
    _, (a, b) = run([quote("a", "X", 1_000), status("a", 1_000), status("b", 1_000, state="backoff", errors=1),
                     status("a", 10_000)])
    line = encode_point(health_point(a)).decode()
    assert line.startswith("exchange_health,exchange=a ") and line.endswith(f" {START + 10_000}")  # window end, ms
    fields = dict(f.split("=", 1) for f in line.split(" ")[1].split(","))
    assert (fields["quotes"], fields["symbols_listed"], fields["window_start_ms"]) == ("1i", "2i", f"{START}i")
    assert (fields["quotes_per_s"], fields["fresh_share"], fields["latency_p50_ms"]) == ("0.1", "0.5", "100")
    assert (fields["health"], fields["reason"], fields["state"]) == ('"ok"', '""', '"polling"')
    failing = encode_point(health_point(b)).decode()
    assert "latency_p50_ms" not in failing and "staleness_s" not in failing and 'health="failing"' in failing


def test_collector_status_records_count_errors_rate_limits_and_reconnects() -> None:
    records: list[ExchangeStatus] = []
    outputs = Outputs(lambda q: None, lambda d: None, on_status=records.append)
    clients = [ScriptedClient("lim", [ccxt.RateLimitExceeded("429"), ccxt.RequestTimeout("slow"), ccxt.ExchangeNotAvailable("503")]),
               ScriptedClient("wsx", [], ws_batches=2)]
    settings = fast_settings(use_websocket=True)
    semaphore = asyncio.Semaphore(4)
    pollers = [ExchangePoller(c, settings.symbols, semaphore, settings.request_timeout_s, None, clock=lambda: T0) for c in clients]

    async def go() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(1.0, stop.set)
        await run_collector(pollers, outputs, settings, stop, progress_every_s=5, status_every_s=0.25)

    asyncio.run(go())  # "lim" has no websocket: the runner polls it after NotSupported
    last = {r.exchange: r for r in records}
    assert (last["lim"].errors, last["lim"].rate_limits, last["lim"].timeouts) == (3, 1, 1)
    assert last["lim"].last_error == "ExchangeNotAvailable: 503" and last["lim"].listed == 1 and last["lim"].polls >= 3
    assert last["wsx"].reconnects >= 1 and last["wsx"].errors == 0
    assert len(records) >= 2 * 4 and len({r.started_ms for r in records if r.exchange == "lim"}) == 1


def test_simulated_slow_and_failing_exchanges() -> None:
    market = SimulatedMarket(MarketConfig(exchanges=("binance", "okx", "bybit"), symbols=("BTC/USDT",), start_ms=T0))
    clients = {c.id: c for c in simulated_clients(market, lambda: T0 + 5_000, slow={"okx": 0.2}, failing=["bybit"])}

    async def go() -> None:
        with pytest.raises(ccxt.RateLimitExceeded):
            await clients["bybit"].fetch_tickers(["BTC/USDT"])
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await clients["bybit"].fetch_tickers(["BTC/USDT"])
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert "BTC/USDT" in await clients["okx"].fetch_tickers(["BTC/USDT"])
        assert loop.time() - started >= 0.2

    asyncio.run(go())
    with pytest.raises(ValueError, match="not in the simulated market: kraken"):
        simulated_clients(market, lambda: T0, failing=["kraken"])


def test_status_records_are_produced_keyed_by_exchange() -> None:
    sent: list[tuple[str, str, bytes]] = []
    outputs = produce_outputs(lambda t, k, v: sent.append((t, k, v)), status_topic="st")
    outputs.on_status(status("okx", 1_000))
    assert sent == [("st", "okx", status("okx", 1_000).to_json())]


def test_state_survives_a_pickle_round_trip_midway() -> None:
    """Bytewax recovery pickles the state: resuming from a copy gives the same windows as never stopping."""
    import pickle

    rnd = random.Random(5)
    events = [quote(rnd.choice("ab"), rnd.choice(["X", "Y"]), t, latency=rnd.randint(0, 900)) for t in range(0, 60_000, 150)]
    events += [status("b", t, state="backoff", errors=t // 10_000) for t in range(0, 60_000, 1_000)]
    events.sort(key=lambda e: e.recv_ts_ms if isinstance(e, Quote) else e.ts_ms)
    events.append(status("a", 70_000))
    _, straight = run(events)
    state, first = run(events[:300])
    _, rest = run(events[300:], state=pickle.loads(pickle.dumps(state)))
    assert first + rest == straight and len(straight) == 12
