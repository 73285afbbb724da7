"""The collector loop: a hanging, failing or broken exchange never stalls the others; websocket fallback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import ccxt.async_support as ccxt
import orjson

from collectors.poller import ExchangePoller
from collectors.runner import OutputFailed, run_collector
from contracts.quote import Quote
from rules.crypto.config import CryptoSettings
from simulators.market import MarketConfig, SimulatedMarket
from simulators.market_exchange import SimulatedExchange
from sinks.quote_outputs import Outputs, produce_outputs

T0 = 1_767_225_600_000
TICKER = {"symbol": "BTC/USDT", "bid": 100.0, "ask": 100.5, "last": 100.2, "timestamp": T0}


def fast_settings(**kw: Any) -> CryptoSettings:
    base = {"poll_interval_s": 0.05, "request_timeout_s": 0.3, "backoff_initial_s": 0.05, "backoff_max_s": 0.1,
            "use_websocket": False, "ws_quiet_s": 0.2, "exchanges": ["x"], "symbols": ["BTC/USDT"]}  # fmt: skip
    return CryptoSettings(**{**base, **kw})


class Recorder:
    def __init__(self) -> None:
        self.quotes: list[Quote] = []
        self.dead: list[dict] = []
        self.outputs = Outputs(self.quotes.append, self.dead.append)


class ScriptedClient:
    """A ccxt-like async client whose fetch_tickers raises the scripted errors first."""

    def __init__(self, exchange_id: str, errors: list[BaseException], ws_batches: int = 0) -> None:
        self.id = exchange_id
        self.errors = list(errors)
        self.ws_batches = ws_batches
        self.has = {"fetchTickers": True, "watchTickers": ws_batches > 0}
        self.closed = False
        self.calls = 0

    async def load_markets(self) -> dict:
        return {"BTC/USDT": {}}

    async def fetch_tickers(self, symbols: list[str]) -> dict:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"BTC/USDT": dict(TICKER)}

    async def watch_tickers(self, symbols: list[str]) -> dict:
        if self.ws_batches <= 0:
            await asyncio.sleep(3600)  # a silent socket
        self.ws_batches -= 1
        await asyncio.sleep(0.01)
        return {"BTC/USDT": dict(TICKER, bid=99.0)}

    async def close(self) -> None:
        self.closed = True


async def collect_for(clients: list[Any], settings: CryptoSettings, seconds: float, recorder: Recorder) -> list:
    semaphore = asyncio.Semaphore(settings.max_concurrency)
    pollers = [ExchangePoller(c, settings.symbols, semaphore, settings.request_timeout_s, None, clock=lambda: T0) for c in clients]
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    return await run_collector(pollers, recorder.outputs, settings, stop, progress_every_s=0.5)


def test_failing_and_stopped_exchanges_do_not_stall_the_healthy_one() -> None:
    recorder = Recorder()
    clients = [
        ScriptedClient("healthy", []),
        ScriptedClient("limited", [ccxt.RateLimitExceeded("429"), ccxt.DDoSProtection("slow down"), ccxt.NetworkError("reset")]),
        ScriptedClient("badkey", [ccxt.AuthenticationError("invalid key")]),
        ScriptedClient("weird", [ValueError("parser bug")] * 100),
    ]
    stats = {s.exchange: s for s in asyncio.run(collect_for(clients, fast_settings(), 1.0, recorder))}
    by_exchange = {q.exchange for q in recorder.quotes}
    assert stats["healthy"].polls >= 8
    assert stats["limited"].error_types == ["RateLimitExceeded", "DDoSProtection", "NetworkError"]
    assert stats["limited"].polls >= 3
    assert stats["badkey"].state == "stopped" and stats["badkey"].polls == 0
    assert stats["weird"].errors >= 3 and stats["weird"].polls == 0
    assert by_exchange == {"healthy", "limited"}
    assert all(c.closed for c in clients)


def test_hanging_simulated_exchange_times_out_while_others_keep_polling() -> None:
    clock = {"now": T0}
    market = SimulatedMarket(MarketConfig(exchanges=("binance", "kraken", "okx"), symbols=("BTC/USDT", "ETH/USDT"), start_ms=T0,
                                          stale_exchange="okx", stale_from_step=0))
    clients = [SimulatedExchange(e, market, lambda: clock["now"]) for e in ("binance", "kraken", "okx")]
    recorder = Recorder()
    settings = fast_settings(exchanges=["binance", "kraken", "okx"], symbols=["BTC/USDT", "ETH/USDT"])
    stats = {s.exchange: s for s in asyncio.run(collect_for(clients, settings, 1.2, recorder))}
    assert stats["okx"].polls == 0 and set(stats["okx"].error_types) == {"TimeoutError"}
    assert stats["binance"].polls >= 8 and stats["kraken"].polls >= 8
    assert {q.exchange for q in recorder.quotes} == {"binance", "kraken"}
    assert {q.symbol for q in recorder.quotes} == {"BTC/USDT", "ETH/USDT"}


def test_websocket_stream_then_quiet_then_rest_poll() -> None:
    recorder = Recorder()
    client = ScriptedClient("wsx", [], ws_batches=3)
    stats = asyncio.run(collect_for([client], fast_settings(use_websocket=True), 0.6, recorder))
    bids = [q.bid for q in recorder.quotes]
    assert bids[:3] == [99.0, 99.0, 99.0]  # streamed
    assert 100.0 in bids  # polled over REST after 0.2 s of silence
    assert stats[0].quotes == len(bids)


def test_an_output_failure_stops_the_whole_collector_and_says_why() -> None:
    """Kafka refusing a delivery is not one exchange's problem: everything stops, with the reason."""
    quotes: list[Quote] = []
    outputs = Outputs(quotes.append, lambda d: None,
                      failure=lambda: "KafkaError{code=MSG_SIZE_TOO_LARGE}" if len(quotes) >= 5 else None)
    clients = [ScriptedClient("a", []), ScriptedClient("b", [])]
    semaphore = asyncio.Semaphore(4)
    settings = fast_settings()
    pollers = [ExchangePoller(c, settings.symbols, semaphore, settings.request_timeout_s, None, clock=lambda: T0) for c in clients]

    async def run() -> float:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.call_later(30, stop.set)  # the collector would run this long without the failure
        started = loop.time()
        try:
            await run_collector(pollers, outputs, settings, stop, progress_every_s=10)
        except OutputFailed as exc:
            assert str(exc) == "KafkaError{code=MSG_SIZE_TOO_LARGE}"
            return loop.time() - started
        raise AssertionError("run_collector returned although its outputs failed")

    assert asyncio.run(run()) < 5
    assert all(c.closed for c in clients)


def test_produce_outputs_keys_and_topics() -> None:
    sent: list[tuple[str, str, bytes]] = []
    outputs = produce_outputs(lambda t, k, v: sent.append((t, k, v)))
    from contracts.quote import validate_quote

    outputs.on_quote(validate_quote({"exchange": "kraken", "symbol": "BTC/USDT", "bid": 1.0, "ask": 1.1, "recv_ts_ms": T0}))
    outputs.on_dead({"reason": "r", "source_topic": "ccxt:kraken", "payload": "{}", "received_at": "x"})
    assert [(t, k) for t, k, _ in sent] == [("crypto.tickers", "BTC/USDT"), ("crypto.deadletter", "ccxt:kraken")]


def test_collector_cli_simulated_to_stdout() -> None:
    help_text = subprocess.run([sys.executable, "-m", "collectors.ccxt_collector", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--simulated" in help_text and "--exchanges" in help_text
    done = subprocess.run(
        [sys.executable, "-m", "collectors.ccxt_collector", "--simulated", "yes", "--out", "stdout", "--duration", "1.5",
         "--exchanges", "binance,kraken,okx", "--symbols", "BTC/USDT,ETH/USDT", "--poll-interval", "0.5"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert len(lines) >= 3 * 2 * 2
    topics = [orjson.loads(line)["topic"] for line in lines]
    assert set(topics) <= {"crypto.tickers", "crypto.deadletter", "crypto.exchange_status"}
    assert topics.count("crypto.exchange_status") == 3  # 1.5 s < --status-every 5 s: only the last record of each exchange
    assert '"event": "collector stopped"' in done.stderr
    quotes = [orjson.loads(line)["value"] for line in lines if '"topic":"crypto.tickers"' in line]
    assert quotes and {q["source"] for q in quotes} == {"simulated"}  # never passes for the exchanges' own prices
