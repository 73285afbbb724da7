"""The health of every exchange, window by window, from its quotes, the collector's status records
and the spread records' exclusions (docs/exchange-health.md).

One state for all exchanges (the flow keys every input on one key): an exchange that sends
nothing still gets its record, because the clock is everyone's. The clock is the newest event
time seen (quote ``recv_ts_ms``, status ``ts_ms``, spread ``ts``), never the wall clock, so a
replay in the same order gives the same records. Windows are ``window_ms`` long, aligned to the
epoch; the first event past a window's end closes it and emits one ``ExchangeHealth`` per known
exchange. An event older than the open window is counted in the open window (never dropped), so
the quotes and errors of all windows add up to exactly what was received.

Health, worst first (the first that applies):

- ``stopped``: no quote, and the collector gave the exchange up (a permanent error), or it shut down and the
  exchange's quotes are no longer fresh;
- ``failing``: no quote in the window, and errors in it or the collector backing off after one;
- ``stale``: fewer than ``min_fresh_share`` of its listed symbols have a quote newer than ``stale_after_ms``;
- ``slow``: median latency (receive - exchange time) above ``slow_latency_ms`` (in a window without
  quotes: the latency last measured);
- ``degraded``: errors in the window, but quotes too;
- ``excluded``: some of its symbols are left out of the spreads (outlier or stale, with the detail);
- ``ok``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.exchange_health import ExchangeHealth, ExchangeStatus, SpreadExclusions
from contracts.quote import Quote

HealthEvent = Quote | ExchangeStatus | SpreadExclusions
COUNTED = ("polls", "errors", "rate_limits", "timeouts", "reconnects")
MAX_EXCLUSIONS_SHOWN = 3


@dataclass(frozen=True)
class HealthRules:
    """Thresholds; times in milliseconds, ``min_fresh_share`` a fraction."""

    window_ms: int = 10_000
    stale_after_ms: int = 30_000
    slow_latency_ms: float = 2_000.0
    min_fresh_share: float = 0.5
    evict_after_ms: int = 600_000

    def update(self, state: HealthState | None, event: HealthEvent) -> tuple[HealthState, list[ExchangeHealth]]:
        """Bytewax ``stateful_map`` mapper (one key for all): closes the window the event is past, then applies it."""
        state = state if state is not None else HealthState()
        t = event_time(event)
        out: list[ExchangeHealth] = []
        if state.window_start_ms is None:
            state.window_start_ms = t - t % self.window_ms
        elif t >= state.window_start_ms + self.window_ms:
            out = close_window(state, self)
            state.window_start_ms = t - t % self.window_ms
        state.apply(event)
        return state, out


def event_time(event: HealthEvent) -> int:
    """The clock an event carries: when a quote was received, when a status or spread was made."""
    if isinstance(event, Quote):
        return event.recv_ts_ms
    if isinstance(event, ExchangeStatus):
        return event.ts_ms
    return event.ts


@dataclass
class ExchangeTrack:
    """What is known of one exchange (picklable: Bytewax state)."""

    last_seen_ms: int = 0
    state: str = "unknown"
    listed: int | None = None
    last_error: str | None = None
    started_ms: int | None = None
    totals: dict[str, int] = field(default_factory=dict)  # the collector's counters, latest status
    reported: dict[str, int] = field(default_factory=dict)  # the same at the last closed window
    last_recv: dict[str, int] = field(default_factory=dict)  # symbol -> newest recv_ts_ms
    quotes: int = 0  # in the open window
    latencies: list[int] = field(default_factory=list)  # in the open window, ms
    last_p50_ms: float | None = None  # median latency of the last window that had quotes with an exchange time
    exclusions: dict[str, tuple[str, str]] = field(default_factory=dict)  # symbol -> (reason, detail)


@dataclass
class HealthState:
    """Every exchange's track and the open window (picklable)."""

    window_start_ms: int | None = None
    exchanges: dict[str, ExchangeTrack] = field(default_factory=dict)
    excluded_by_symbol: dict[str, set[str]] = field(default_factory=dict)

    def track(self, exchange: str, t: int) -> ExchangeTrack:
        track = self.exchanges.setdefault(exchange, ExchangeTrack())
        track.last_seen_ms = max(track.last_seen_ms, t)
        return track

    def apply(self, event: HealthEvent) -> None:
        if isinstance(event, Quote):
            track = self.track(event.exchange, event.recv_ts_ms)
            track.quotes += 1
            track.last_recv[event.symbol] = max(track.last_recv.get(event.symbol, 0), event.recv_ts_ms)
            if event.exchange_ts_ms is not None:
                track.latencies.append(event.recv_ts_ms - event.exchange_ts_ms)
        elif isinstance(event, ExchangeStatus):
            track = self.track(event.exchange, event.ts_ms)
            if track.started_ms != event.started_ms:  # a new collector task: its counters start at zero
                track.started_ms, track.reported = event.started_ms, {}
            track.state, track.listed, track.last_error = event.state, event.listed, event.last_error
            track.totals = {name: getattr(event, name) for name in COUNTED}
        else:
            now = {ex: (reason, detail) for ex, reason, detail in event.excluded}
            for exchange in self.excluded_by_symbol.get(event.symbol, set()) - set(now):
                if exchange in self.exchanges:
                    self.exchanges[exchange].exclusions.pop(event.symbol, None)
            for exchange, why in now.items():
                self.exchanges.setdefault(exchange, ExchangeTrack()).exclusions[event.symbol] = why
            self.excluded_by_symbol[event.symbol] = set(now)


def percentile(sorted_values: list[int], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in [0, 1]) of sorted values; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, -(-int(q * 1000) * len(sorted_values) // 1000))  # ceil(q * n), exact for q with 3 decimals
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def classify(h: dict[str, Any], rules: HealthRules, last_p50_ms: float | None = None) -> tuple[str, str]:
    """(health, reason) of one exchange's window figures (docstring of this module); ``last_p50_ms``
    judges a window without quotes by the latency last measured (a slow exchange's quiet window is not ok)."""
    window_s = rules.window_ms / 1000
    error_text = f"{h['errors']} errors ({h['rate_limits']} rate limits, {h['timeouts']} timeouts) in {window_s:g} s"
    last = f": {h['last_error']}" if h["last_error"] else ""
    share = h["fresh_share"]
    not_fresh = share is None or share < rules.min_fresh_share
    if h["state"] == "stopped" and h["quotes"] == 0:
        return "stopped", f"the collector stopped polling it{last}"
    if h["state"] == "ended" and h["quotes"] == 0 and not_fresh:
        return "stopped", f"the collector shut down{last}"
    if h["quotes"] == 0 and h["errors"] > 0:
        return "failing", f"no quote, {error_text}{last}"
    if h["quotes"] == 0 and h["state"] == "backoff":
        return "failing", f"no quote, the collector backing off after {h['last_error'] or 'an error'}"
    if not_fresh:
        listed = "?" if h["symbols_listed"] is None else h["symbols_listed"]
        age = "no quote yet" if h["staleness_s"] is None else f"newest quote {h['staleness_s']:g} s old"
        return "stale", f"{h['symbols_fresh']} of {listed} symbols fresh ({age}; fresh = under {rules.stale_after_ms / 1000:g} s)"
    p50, carried = (h["latency_p50_ms"], "") if h["latency_p50_ms"] is not None else (last_p50_ms, ", last measured")
    if p50 is not None and p50 > rules.slow_latency_ms:
        return "slow", f"median latency {p50 / 1000:.2f} s (receive - exchange time{carried}) over {rules.slow_latency_ms / 1000:g} s"
    if h["errors"] > 0:
        return "degraded", f"quoting, but {error_text}{last}"
    if h["excluded_outlier"] or h["excluded_stale"]:
        return "excluded", h["exclusions"]
    return "ok", ""


def exchange_window(exchange: str, track: ExchangeTrack, start: int, end: int, rules: HealthRules) -> ExchangeHealth:
    """The record of one exchange for the window ``[start, end)``."""
    latencies = sorted(track.latencies)
    fresh = sum(1 for ts in track.last_recv.values() if end - ts <= rules.stale_after_ms)
    listed = track.listed if track.listed is not None else (len(track.last_recv) or None)
    grown = {name: track.totals.get(name, 0) - track.reported.get(name, 0) for name in COUNTED}
    shown = sorted(track.exclusions.items())
    h: dict[str, Any] = {
        "state": track.state, "quotes": track.quotes, "quotes_per_s": track.quotes / (rules.window_ms / 1000),
        "symbols_listed": listed, "symbols_fresh": fresh,
        "fresh_share": None if not listed else min(1.0, fresh / listed),
        "staleness_s": (end - max(track.last_recv.values())) / 1000 if track.last_recv else None,
        "latency_p50_ms": percentile(latencies, 0.5), "latency_p95_ms": percentile(latencies, 0.95),
        "latency_max_ms": float(latencies[-1]) if latencies else None, **grown, "last_error": track.last_error,
        "excluded_outlier": sum(1 for _, (reason, _) in shown if reason == "outlier"),
        "excluded_stale": sum(1 for _, (reason, _) in shown if reason == "stale"),
        "exclusions": "; ".join(f"{symbol} {reason}: {detail}" for symbol, (reason, detail) in shown[:MAX_EXCLUSIONS_SHOWN])
                      + (f"; and {len(shown) - MAX_EXCLUSIONS_SHOWN} more" if len(shown) > MAX_EXCLUSIONS_SHOWN else ""),
    }
    health, reason = classify(h, rules, track.last_p50_ms)
    if h["latency_p50_ms"] is not None:
        track.last_p50_ms = h["latency_p50_ms"]
    return ExchangeHealth(exchange=exchange, window_start_ms=start, window_end_ms=end, health=health, reason=reason, **h)


def close_window(state: HealthState, rules: HealthRules) -> list[ExchangeHealth]:
    """One record per known exchange for the open window, then reset its window figures; exchanges
    not heard of for ``evict_after_ms`` are forgotten (bounded state; a removed exchange stops)."""
    assert state.window_start_ms is not None
    start, end = state.window_start_ms, state.window_start_ms + rules.window_ms
    out = []
    for exchange in sorted(state.exchanges):
        track = state.exchanges[exchange]
        if track.last_seen_ms < end - rules.evict_after_ms:
            del state.exchanges[exchange]
            continue
        out.append(exchange_window(exchange, track, start, end, rules))
        track.quotes, track.latencies, track.reported = 0, [], dict(track.totals)
    return out
