"""Collect crypto quotes from many exchanges (ccxt) or the simulated market, to Kafka or stdout.

    python -m collectors.ccxt_collector --help
    python -m collectors.ccxt_collector --simulated --duration 30 --out stdout
    python -m collectors.ccxt_collector --exchanges binance,kraken --symbols BTC/USDT --out kafka
    python -m collectors.ccxt_collector --simulated yes --simulate-slow okx:3 --simulate-failing bybit

Settings come from ``CRYPTO_*`` environment variables (``settings/rules_env.py``); options win.
The simulated market runs only when asked (``--simulated yes`` or ``CRYPTO_SIMULATED=true``, as
the demo does): a collector that cannot reach its exchanges keeps retrying them and says so; it
never publishes simulated prices under real exchange ids in their place. Every quote carries its
``source`` (``ccxt`` / ``simulated``). Every ``--status-every`` seconds it publishes one status
record per exchange (errors, rate limits, timeouts, reconnects: docs/exchange-health.md) to
``--status-topic``. A Kafka delivery failure stops the collector with exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import time
from collections.abc import Sequence

import structlog

from collectors.clients import make_client
from collectors.poller import ExchangePoller, wall_clock_ms
from collectors.runner import OutputFailed, run_collector
from rules.crypto.config import CryptoSettings
from settings import topics
from settings.errors import run_main
from settings.logs import configure_logging
from settings.rules_env import load_crypto_settings
from simulators.market import MarketConfig, SimulatedMarket
from simulators.market_exchange import simulated_clients
from sinks.kafka_producer import KafkaProduce
from sinks.quote_outputs import Outputs, jsonl_outputs, produce_outputs

log = structlog.get_logger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m collectors.ccxt_collector", description=__doc__.split("\n\n")[0])
    parser.add_argument("--exchanges", help="comma-separated ccxt ids (default: CRYPTO_EXCHANGES, 45 exchanges)")
    parser.add_argument("--symbols", help="comma-separated unified symbols (default: CRYPTO_SYMBOLS, 20 pairs)")
    parser.add_argument("--simulated", choices=("yes", "no"), default=None,
                        help="yes = the simulated market instead of the exchanges (default: CRYPTO_SIMULATED, else no)")  # fmt: skip
    parser.add_argument("--seed", type=int, help="seed of the simulated market (default CRYPTO_SIMULATED_SEED)")
    parser.add_argument("--poll-interval", type=float, help="seconds between polls of one exchange")
    parser.add_argument("--no-websocket", action="store_true", help="poll REST only, never ccxt.pro watch_*")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = until Ctrl-C)")
    parser.add_argument("--out", choices=("kafka", "stdout"), default="kafka", help="Kafka topics or JSON lines on stdout")
    parser.add_argument("--tickers-topic", default=topics.CRYPTO_TICKERS, help="Kafka topic of valid quotes (default %(default)s)")
    parser.add_argument("--deadletter-topic", default=topics.CRYPTO_DEADLETTER, help="Kafka topic of invalid quotes (default %(default)s)")
    parser.add_argument("--status-topic", default=None,
                        help=f"Kafka topic of per-exchange status records; '' = none (default {topics.CRYPTO_EXCHANGE_STATUS} when the "
                             "tickers go to the default topic, else none: a private tickers topic gets no status unless asked)")
    parser.add_argument("--status-every", type=float, default=5.0, help="seconds between status records of each exchange (default 5)")
    parser.add_argument("--progress-every", type=float, default=10.0, help="seconds between progress log lines")
    parser.add_argument("--simulate-slow", action="append", default=[], metavar="EXCHANGE[:SECONDS]",
                        help="simulated market only: this exchange answers SECONDS late (default 3); repeatable")
    parser.add_argument("--simulate-failing", action="append", default=[], metavar="EXCHANGE",
                        help="simulated market only: every ticker request of this exchange fails (rate limit / 503); repeatable")
    args = parser.parse_args(argv)
    try:
        args.slow = {e: float(d or 3.0) for e, _, d in (v.partition(":") for v in args.simulate_slow)}
    except ValueError:
        parser.error(f"--simulate-slow takes EXCHANGE[:SECONDS], got {args.simulate_slow}")
    if args.status_every <= 0:
        parser.error("--status-every must be positive")
    if args.status_topic is None:
        args.status_topic = topics.CRYPTO_EXCHANGE_STATUS if args.tickers_topic == topics.CRYPTO_TICKERS else ""
    return args


def settings_from_args(args: argparse.Namespace) -> CryptoSettings:
    return load_crypto_settings(
        exchanges=args.exchanges,
        symbols=args.symbols,
        simulated_seed=args.seed,
        poll_interval_s=args.poll_interval,
        use_websocket=False if args.no_websocket else None,
    )


async def build_pollers(settings: CryptoSettings, simulated: bool, slow: dict[str, float] | None = None,
                        failing: Sequence[str] = ()) -> list[ExchangePoller]:
    """Real ccxt clients, or the simulated market (with ``slow`` / ``failing`` exchanges) when (and only when) asked for."""
    semaphore = asyncio.Semaphore(settings.max_concurrency)
    if not simulated:
        if slow or failing:
            raise ValueError("--simulate-slow / --simulate-failing need the simulated market (--simulated yes)")
        clients = [make_client(e, websocket=settings.use_websocket, timeout_s=settings.request_timeout_s) for e in settings.exchanges]
        return [ExchangePoller(c, settings.symbols, semaphore, settings.request_timeout_s, settings.orderbook_limit) for c in clients]
    config = MarketConfig(exchanges=tuple(settings.exchanges), symbols=tuple(settings.symbols),
                          seed=settings.simulated_seed, start_ms=wall_clock_ms())  # fmt: skip
    market = SimulatedMarket(config)
    return [
        ExchangePoller(c, settings.symbols, semaphore, settings.request_timeout_s, None, source_prefix="simulated")
        for c in simulated_clients(market, wall_clock_ms, slow, failing)
    ]


async def collect(settings: CryptoSettings, simulated: bool, outputs: Outputs, duration_s: float, progress_s: float,
                  status_s: float = 5.0, slow: dict[str, float] | None = None, failing: Sequence[str] = ()) -> int:
    """Run until the duration elapses or SIGINT/SIGTERM; returns the number of quotes collected.
    Raises ``OutputFailed`` when the outputs stopped taking records."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if duration_s > 0:
        loop.call_later(duration_s, stop.set)
    pollers = await build_pollers(settings, simulated, slow, failing)
    if pollers and pollers[0].source_prefix == "simulated":  # the simulated market is polled, never watched
        settings = settings.model_copy(update={"use_websocket": False})
    log.info("collector started", exchanges=len(pollers), symbols=len(settings.symbols), simulated=pollers[0].source_prefix == "simulated")
    started = time.monotonic()
    stats = await run_collector(pollers, outputs, settings, stop, progress_s, status_s)
    total = sum(s.quotes for s in stats)
    log.info("collector stopped", quotes=total, dead_letters=sum(s.dead for s in stats),
             seconds=round(time.monotonic() - started, 1), errors={s.exchange: s.last_error for s in stats if s.last_error})  # fmt: skip
    return total


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    settings = settings_from_args(args)
    simulated = settings.simulated if args.simulated is None else args.simulated == "yes"
    producer = KafkaProduce.from_stack() if args.out == "kafka" else None
    outputs = (produce_outputs(producer, args.tickers_topic, args.deadletter_topic, producer.failure, args.status_topic)
               if producer is not None else jsonl_outputs())
    if not args.status_topic:
        outputs = dataclasses.replace(outputs, on_status=lambda _status: None)
    failed = False
    try:
        asyncio.run(collect(settings, simulated, outputs, args.duration, args.progress_every, args.status_every,
                            args.slow, args.simulate_failing))
    except OutputFailed as exc:
        log.error("collector stopped: Kafka did not take its quotes", error=str(exc), tickers_topic=args.tickers_topic)
        failed = True
    finally:
        if producer is not None:
            left = producer.flush()
            log.info("kafka flushed", delivered=producer.delivered, failed=producer.failed, undelivered=left)
            failed = failed or bool(producer.failed or left)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
