"""Runs every exchange in its own task: one that fails, hangs or goes quiet never stalls the others.

Per exchange: load markets, then stream (websocket) where possible or poll every
``poll_interval_s``; on rate-limit / network errors back off with jitter; on permanent errors
(authentication, not supported) stop that exchange only. ``run_collector`` also logs progress,
reports each exchange's status (counters of errors, rate limits, timeouts, reconnects) every
``status_every_s`` to ``outputs.on_status`` (docs/exchange-health.md), and stops everything when
the outputs fail (a quote Kafka did not take is lost: say so, loudly).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import ccxt.async_support as ccxt
import structlog

from collectors.backoff import PERMANENT, RETRYABLE, Backoff, is_rate_limit
from collectors.poller import ExchangePoller, wall_clock_ms
from collectors.watcher import QuietStream, TickerWatcher
from contracts.exchange_health import ExchangeStatus
from rules.crypto.config import CryptoSettings
from sinks.quote_outputs import Outputs

log = structlog.get_logger(__name__)
WS_FAILURES_BEFORE_POLLING = 3
OUTPUT_CHECK_S = 0.2  # how often the outputs' delivery state is checked


class OutputFailed(RuntimeError):
    """The collector's outputs stopped taking records (e.g. a Kafka delivery failed)."""


@dataclass
class ExchangeStats:
    """Counters of one exchange task (read by the progress log and tests)."""

    exchange: str
    polls: int = 0
    quotes: int = 0
    dead: int = 0
    errors: int = 0
    rate_limits: int = 0
    timeouts: int = 0
    reconnects: int = 0
    state: str = "starting"
    last_error: str | None = None
    error_types: list[str] = field(default_factory=list)
    source: str = "ccxt"
    listed: int | None = None
    started_ms: int = field(default_factory=wall_clock_ms)

    def count_error(self, exc: BaseException) -> str:
        """Count one failed call (a rate limit and a timeout also on their own); returns its text."""
        self.errors += 1
        self.rate_limits += is_rate_limit(exc)
        self.timeouts += isinstance(exc, (asyncio.TimeoutError, TimeoutError, ccxt.RequestTimeout))
        self.error_types.append(type(exc).__name__)
        self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}" if str(exc) else type(exc).__name__
        return self.last_error

    def status(self, ts_ms: int) -> ExchangeStatus:
        """The ``crypto.exchange_status`` record of this exchange now (counters since ``started_ms``)."""
        return ExchangeStatus(self.exchange, ts_ms, self.started_ms, self.source, self.state, self.listed, self.polls,
                              self.quotes, self.dead, self.errors, self.rate_limits, self.timeouts, self.reconnects,
                              self.last_error)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), max(0.0, seconds))


async def run_exchange(
    poller: ExchangePoller, outputs: Outputs, settings: CryptoSettings, stop: asyncio.Event, stats: ExchangeStats
) -> ExchangeStats:
    """The loop of one exchange until ``stop`` is set or a permanent error."""
    loop = asyncio.get_running_loop()
    backoff = Backoff(settings.backoff_initial_s, settings.backoff_max_s)
    watcher = TickerWatcher(poller, outputs, settings.ws_quiet_s, settings.poll_interval_s) if settings.use_websocket else None
    ws_failures = 0
    ws_started = False
    stats.source = poller.source_prefix
    bound = log.bind(exchange=poller.exchange_id)
    while not stop.is_set():
        wait = settings.poll_interval_s
        try:
            if poller.listed is None:
                await poller.load()
                stats.listed = len(poller.listed or [])
            if watcher is not None and ws_failures < WS_FAILURES_BEFORE_POLLING:
                stats.reconnects += ws_started  # every stream after the first is a reconnect
                ws_started = True
                stats.state = "streaming"
                try:
                    await watcher.watch_until_quiet(stop)
                    continue
                except QuietStream as exc:
                    bound.warning("websocket quiet, polling once", detail=str(exc))
                except ccxt.NotSupported:
                    ws_failures = WS_FAILURES_BEFORE_POLLING
                except RETRYABLE + (ccxt.ExchangeError,) as exc:
                    ws_failures += 1
                    bound.warning("websocket failed", error=stats.count_error(exc), failures=ws_failures)
                finally:
                    stats.quotes += watcher.received
                    watcher.received = 0
            stats.state = "polling"
            started = loop.time()
            result = await poller.poll_once()
            stats.polls += 1
            for quote in result.quotes:
                outputs.on_quote(quote)
            for letter in result.dead:
                outputs.on_dead(letter)
            stats.quotes += len(result.quotes)
            stats.dead += len(result.dead)
            if result.errors:
                bound.warning("bid/ask fallback failed", symbols=result.errors)
            backoff.reset()
            wait = settings.poll_interval_s - (loop.time() - started)
        except PERMANENT as exc:
            stats.count_error(exc)
            stats.state = "stopped"
            bound.error("exchange stopped", error=stats.last_error)
            return stats
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # retryable or not, one exchange's error never ends the collector
            stats.count_error(exc)
            stats.state = "backoff"
            wait = backoff.next()
            level = bound.warning if isinstance(exc, RETRYABLE) else bound.error
            level("exchange error", error=stats.last_error, rate_limited=is_rate_limit(exc), retry_in_s=round(wait, 2))
        await _sleep_or_stop(stop, wait)
    stats.state = "ended"  # the collector shut down ("stopped" = this exchange given up on a permanent error)
    return stats


async def _progress(stats: Sequence[ExchangeStats], stop: asyncio.Event, every_s: float) -> None:
    loop = asyncio.get_running_loop()
    started, seen = loop.time(), 0
    while not stop.is_set():
        await _sleep_or_stop(stop, every_s)
        total = sum(s.quotes for s in stats)
        elapsed = max(loop.time() - started, 1e-9)
        log.info(
            "collector progress",
            quotes=total,
            quotes_per_s=round(total / elapsed, 1),
            new_quotes=total - seen,
            dead_letters=sum(s.dead for s in stats),
            exchanges_ok=sum(1 for s in stats if s.state in ("polling", "streaming")),
            exchanges_backoff=sorted(s.exchange for s in stats if s.state == "backoff"),
            exchanges_stopped=sorted(s.exchange for s in stats if s.state in ("stopped", "ended")),
        )
        seen = total


async def _report_status(stats: Sequence[ExchangeStats], outputs: Outputs, stop: asyncio.Event, every_s: float) -> None:
    """Every ``every_s`` one status record per exchange, and a last one when the collector stops."""
    while not stop.is_set():
        await _sleep_or_stop(stop, every_s)
        if stop.is_set():
            return  # run_collector sends the last one after the tasks ended
        now = wall_clock_ms()
        for s in stats:
            outputs.on_status(s.status(now))


async def _watch_outputs(outputs: Outputs, stop: asyncio.Event, every_s: float, failed: list[str]) -> None:
    """Stop the whole collector on the first output failure (e.g. Kafka refused a delivery)."""
    while not stop.is_set():
        error = outputs.failure()
        if error is not None:
            failed.append(error)
            log.error("output failed, stopping the collector", error=error)
            stop.set()
            return
        await _sleep_or_stop(stop, every_s)


async def run_collector(
    pollers: Sequence[ExchangePoller],
    outputs: Outputs,
    settings: CryptoSettings,
    stop: asyncio.Event,
    progress_every_s: float = 10.0,
    status_every_s: float = 5.0,
) -> list[ExchangeStats]:
    """Run all exchanges until ``stop`` or an output failure; close every client at the end; return
    the counters. Raises ``OutputFailed`` when the outputs failed (the records after it are lost)."""
    stats = [ExchangeStats(p.exchange_id) for p in pollers]
    tasks = [asyncio.create_task(run_exchange(p, outputs, settings, stop, s)) for p, s in zip(pollers, stats, strict=True)]
    progress = asyncio.create_task(_progress(stats, stop, progress_every_s))
    status = asyncio.create_task(_report_status(stats, outputs, stop, status_every_s))
    failed: list[str] = []
    watch = asyncio.create_task(_watch_outputs(outputs, stop, OUTPUT_CHECK_S, failed))
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, progress, status, watch, return_exceptions=True)
        if not failed:  # the final counters, so a stopped collector's last window is complete
            now = wall_clock_ms()
            for s in stats:
                outputs.on_status(s.status(now))
        for poller in pollers:
            with contextlib.suppress(Exception):
                await poller.client.close()
    if failed:
        raise OutputFailed(failed[0])
    return stats
