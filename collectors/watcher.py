"""Websocket streaming of one exchange through ccxt.pro ``watch_tickers`` / ``watch_ticker``.

``watch_until_quiet`` returns (instead of waiting forever) when no update arrives for
``quiet_s``: the runner then polls REST once and resumes, so a silent socket never freezes an
exchange. Tickers without bid/ask are completed through the poller's REST fallback, at most
once per ``complete_every_s`` per symbol.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import ccxt.async_support as ccxt
import structlog

from collectors.clients import can_watch
from collectors.poller import ExchangePoller
from contracts.ccxt_ticker import has_bid_ask, normalize
from sinks.quote_outputs import Outputs

log = structlog.get_logger(__name__)


class QuietStream(Exception):
    """No websocket update within the quiet limit."""


@dataclass
class TickerWatcher:
    """Streams tickers of ``poller.listed`` symbols and sends them to ``outputs``."""

    poller: ExchangePoller
    outputs: Outputs
    quiet_s: float = 30.0
    complete_every_s: float = 5.0
    last_completed_ms: dict[str, int] = field(default_factory=dict)
    received: int = 0

    async def _next_batch(self, method: str) -> dict[str, dict[str, Any]]:
        client, symbols = self.poller.client, list(self.poller.listed or [])
        if method == "watchTickers":
            return dict(await asyncio.wait_for(client.watch_tickers(symbols), self.quiet_s))
        # watch_ticker per symbol: the first symbol to update wins this round
        tasks = {asyncio.ensure_future(client.watch_ticker(s)): s for s in symbols}
        try:
            done, _ = await asyncio.wait(tasks, timeout=self.quiet_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
        if not done:
            raise TimeoutError
        return {tasks[t]: t.result() for t in done}

    async def _handle(self, symbol: str, ticker: dict[str, Any]) -> None:
        poller = self.poller
        recv = poller.clock()
        if not has_bid_ask(ticker):
            last = self.last_completed_ms.get(symbol, -(10**15))
            if recv - last < self.complete_every_s * 1000:
                return
            self.last_completed_ms[symbol] = recv
            try:
                ticker = await poller.complete(symbol, dict(ticker))
            except (TimeoutError, ccxt.BaseError) as exc:
                log.warning("bid/ask fallback failed", exchange=poller.exchange_id, symbol=symbol, error=str(exc)[:200])
                return
            recv = poller.clock()
        quote, letter = normalize(poller.exchange_id, ticker, recv, poller.source_prefix)
        if quote is not None:
            self.received += 1
            self.outputs.on_quote(quote)
        elif letter is not None:
            self.outputs.on_dead(letter)

    async def watch_until_quiet(self, stop: asyncio.Event) -> None:
        """Stream until ``stop`` is set; raise ``QuietStream`` after ``quiet_s`` without an update."""
        method = can_watch(self.poller.client)
        if method is None:
            raise ccxt.NotSupported(f"{self.poller.exchange_id} has no watchTicker(s)")
        wanted = set(self.poller.listed or [])
        while not stop.is_set():
            try:
                batch = await self._next_batch(method)
            except TimeoutError:
                raise QuietStream(f"no websocket update from {self.poller.exchange_id} in {self.quiet_s:g} s") from None
            for symbol, ticker in batch.items():
                if symbol in wanted and ticker:
                    await self._handle(symbol, ticker)
