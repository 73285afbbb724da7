"""CLI of the simulated market: ``python -m simulators.market --help``.

Writes quotes (and the rare broken tickers as dead letters) step by step, as fast as possible or
in real time, to stdout as JSON lines or to Kafka ``crypto.tickers`` / ``crypto.deadletter``.
With ``--start-ms`` and ``--seed`` fixed, two runs write the same records.
"""

from __future__ import annotations

import argparse
import time

import structlog

from rules.crypto.config import DEFAULT_EXCHANGES, DEFAULT_SYMBOLS
from settings.errors import run_main
from settings.logs import configure_logging
from simulators.market import MarketConfig, SimulatedMarket
from sinks.kafka_producer import KafkaProduce
from sinks.quote_outputs import jsonl_outputs, produce_outputs

log = structlog.get_logger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulators.market", description="Simulated crypto market (deterministic for a seed).")
    parser.add_argument("--exchanges", type=int, default=len(DEFAULT_EXCHANGES), help="number of exchanges, real ccxt ids (max 45, default 45)")
    parser.add_argument("--symbols", type=int, default=len(DEFAULT_SYMBOLS), help="number of symbols (max 20, default 20)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--steps", type=int, default=60, help="steps to simulate (default 60); 0 = forever")
    parser.add_argument("--step-ms", type=int, default=1000, help="market time between steps, ms (default 1000)")
    parser.add_argument("--start-ms", type=int, default=None, help="market time of step 0, epoch ms (default: now)")
    parser.add_argument("--stale-from-step", type=int, default=60, help="step at which the stale exchange goes quiet (default 60)")
    parser.add_argument("--realtime", action="store_true", help="sleep step-ms between steps (default: as fast as possible)")
    parser.add_argument("--out", choices=("stdout", "kafka"), default="stdout", help="JSON lines on stdout (default) or Kafka")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    start_ms = args.start_ms if args.start_ms is not None else int(time.time() * 1000)
    config = MarketConfig(
        exchanges=DEFAULT_EXCHANGES[: max(1, min(args.exchanges, len(DEFAULT_EXCHANGES)))],
        symbols=DEFAULT_SYMBOLS[: max(1, min(args.symbols, len(DEFAULT_SYMBOLS)))],
        seed=args.seed,
        start_ms=start_ms,
        step_ms=args.step_ms,
        stale_from_step=args.stale_from_step,
    )
    market = SimulatedMarket(config)
    producer = None
    if args.out == "kafka":
        producer = KafkaProduce.from_stack()
        outputs = produce_outputs(producer)
    else:
        outputs = jsonl_outputs()
    log.info("market started", exchanges=len(config.exchanges), symbols=len(config.symbols), seed=args.seed,
             stale_exchange=market.stale_exchange, alias=f"{market.alias_exchange}:{market.alias_symbol}")  # fmt: skip
    quotes = dead = 0
    wall_start = time.monotonic()
    step = 0
    while args.steps == 0 or step < args.steps:
        market.step()
        step += 1
        batch, letters = market.quotes()
        for quote in batch:
            outputs.on_quote(quote)
        for letter in letters:
            outputs.on_dead(letter)
        quotes, dead = quotes + len(batch), dead + len(letters)
        if step % 10 == 0:
            log.info("market progress", step=step, quotes=quotes, dead_letters=dead, open_dislocations=len(market.dislocations))
        if args.realtime:
            time.sleep(max(0.0, wall_start + step * args.step_ms / 1000 - time.monotonic()))
    if producer is not None:
        left = producer.flush()
        log.info("kafka flushed", delivered=producer.delivered, failed=producer.failed, undelivered=left)
        if producer.failed or left:
            return 1
    log.info("market done", steps=step, quotes=quotes, dead_letters=dead)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
