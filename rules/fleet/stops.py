"""Stops, Traccar semantics: where and how long a vehicle stood, from its stored fixes.

A fix is *stopped* when its speed is at or under ``speed_kmh`` (Traccar's minimal trip speed,
here ``trip_start_speed_kmh``) or its ignition is off. A run of stopped fixes is a stop from its
first fix to the first moving fix after it; a stop shorter than ``min_duration_s`` (Traccar's
minimal parking duration, here ``trip_min_stop_s``) is a pause inside a trip and not reported.
A gap of more than ``max_gap_s`` without fixes is a stop too (the device was off or out of
reach: Traccar does the same), from the last fix before the gap to the first after it.
The stop's position is its first fix's. ``idle_s`` is the time inside the stop with the engine on
(ignition, else rpm > 0: Traccar's engine hours of a stop). A stop still going on at the last fix
ends there with ``ongoing`` set.

Reports run this on a vehicle's fixes of a range (batch, oldest first); no I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .places import PlaceIndex


@dataclass(frozen=True)
class Sample:
    """What stops and summaries need of a stored fix."""

    ts_ms: int
    lat: float
    lon: float
    speed_kmh: float
    ignition: bool | None = None
    rpm: float | None = None
    fuel_level_pct: float | None = None

    @property
    def engine_on(self) -> bool:
        """Ignition, else rpm > 0; unknown counts as off (we would rather miss idling than invent it)."""
        if self.ignition is not None:
            return self.ignition
        return self.rpm is not None and self.rpm > 0


@dataclass(frozen=True)
class Stop:
    vehicle_id: str
    start_ts: int
    end_ts: int
    lat: float
    lon: float
    idle_s: float
    ignition_off: bool  # the ignition was reported off at some fix of the stop
    ongoing: bool = False
    place: str | None = None

    @property
    def duration_s(self) -> float:
        return (self.end_ts - self.start_ts) / 1000


def detect_stops(vehicle_id: str, samples: Sequence[Sample], *, speed_kmh: float, min_duration_s: float,
                 max_gap_s: float) -> list[Stop]:
    """The stops in ``samples`` (sorted by time; equal timestamps keep the first)."""
    out: list[Stop] = []
    start: Sample | None = None  # first fix of the current stopped run
    idle_ms, ign_off = 0, False

    def close(end_ts: int, ongoing: bool = False) -> None:
        nonlocal start, idle_ms, ign_off
        if start is not None and (end_ts - start.ts_ms) >= min_duration_s * 1000:
            out.append(Stop(vehicle_id, start.ts_ms, end_ts, start.lat, start.lon, idle_ms / 1000, ign_off, ongoing))
        start, idle_ms, ign_off = None, 0, False

    prev: Sample | None = None
    for s in samples:
        if prev is not None and s.ts_ms <= prev.ts_ms:
            continue
        stopped = s.speed_kmh <= speed_kmh or s.ignition is False
        if prev is not None and s.ts_ms - prev.ts_ms > max_gap_s * 1000:
            if start is None:  # moving into the gap: the gap is the stop, from the last fix before it
                start, ign_off = prev, prev.ignition is False
            # a gap is not idling: nobody saw the engine run
        elif prev is not None and start is not None and prev.engine_on:
            idle_ms += s.ts_ms - prev.ts_ms
        if stopped:
            start = start or s
            ign_off = ign_off or s.ignition is False
        elif start is not None:
            close(s.ts_ms)
        prev = s
    if start is not None and prev is not None:
        close(prev.ts_ms, ongoing=True)
    return out


def with_places(stops: Iterable[Stop], index: PlaceIndex) -> list[Stop]:
    return [replace(s, place=index.label(s.lat, s.lon)) for s in stops]
