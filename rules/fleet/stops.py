"""Stops, Traccar semantics: where and how long a vehicle stood, as fixes arrive or from stored fixes.

A fix is *stopped* when its speed is at or under ``speed_kmh`` (Traccar's minimal trip speed,
here ``trip_start_speed_kmh``) or its ignition is off. A run of stopped fixes is a stop from its
first fix to the first moving fix after it; a stop shorter than ``min_duration_s`` (Traccar's
minimal parking duration, here ``trip_min_stop_s``) is a pause inside a trip and not reported.
A gap of more than ``max_gap_s`` without fixes is a stop too (the device was off or out of
reach: Traccar does the same), from the last fix before the gap to the first after it.
The stop's position is its first fix's. ``idle_s`` is the time inside the stop with the engine on
(ignition, else rpm > 0: Traccar's engine hours of a stop). A stop still going on at the last fix
ends there with ``ongoing`` set.

One implementation for both uses, so they cannot drift: ``step`` is the per-vehicle streaming
step (state in, state and the stops it ended out) the analytics engine runs per in-order fix;
``detect_stops`` (reports, the replay page: a vehicle's fixes of a range, oldest first) is ``step``
folded over the fixes plus ``finish``. ``tick`` is the streaming timer: a vehicle silent for more
than ``max_gap_s`` is in a stop (the gap rule) that only its next fix can end, so the stop is
announced once with ``ongoing`` set and ends at its last fix; the record its next moving fix ends
has the same ``stop_id`` and replaces it. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from contracts.stop import Stop
from contracts.telemetry import Telemetry

from .config import FleetSettings
from .places import PlaceIndex

__all__ = ["Sample", "Stop", "StopParams", "StopState", "detect_stops", "finish", "sample_of", "step", "tick", "with_place",
           "with_places"]


@dataclass(frozen=True)
class Sample:
    """What stops and summaries need of a fix."""

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


def sample_of(fix: Telemetry) -> Sample:
    """The stop fields of a live fix (the engine's input to ``step``)."""
    return Sample(fix.ts_ms, fix.lat, fix.lon, fix.speed_kmh, fix.ignition, fix.rpm, fix.fuel_level_pct)


@dataclass(frozen=True)
class StopParams:
    """The thresholds, in seconds and km/h (``FleetSettings``' trip settings: a stop is what ends a trip)."""

    speed_kmh: float
    min_duration_s: float
    max_gap_s: float

    @classmethod
    def of(cls, cfg: FleetSettings) -> StopParams:
        """Memoised for the last settings object (frozen; the engine asks once per fix: 1.3 -> 0.2 us)."""
        last = _LAST_PARAMS[0]
        if last is not None and last[0] is cfg:
            return last[1]
        params = cls(cfg.trip_start_speed_kmh, cfg.trip_min_stop_s, cfg.trip_max_gap_s)
        _LAST_PARAMS[0] = (cfg, params)
        return params


_LAST_PARAMS: list[tuple[FleetSettings, StopParams] | None] = [None]


@dataclass(frozen=True)
class StopState:
    """One vehicle's open stop: its first fix, idle time and ignition so far, and the last fix seen."""

    prev: Sample | None = None  # the last in-order fix
    start: Sample | None = None  # first fix of the current stopped run
    idle_ms: int = 0
    ign_off: bool = False
    announced: bool = False  # the open stop was published by ``tick`` since ``prev``


def _stop(vehicle_id: str, start: Sample, end_ts: int, idle_ms: int, ign_off: bool, ongoing: bool, fleet_id: str | None) -> Stop:
    return Stop(vehicle_id, start.ts_ms, end_ts, start.lat, start.lon, idle_ms / 1000, ign_off, ongoing, fleet_id=fleet_id)


def step(state: StopState, s: Sample, vehicle_id: str, p: StopParams, fleet_id: str | None = None) -> tuple[StopState, list[Stop]]:
    """Feed one fix (in time order; one not newer than the last is ignored); return the stop it ended, if any."""
    prev = state.prev
    if prev is not None and s.ts_ms <= prev.ts_ms:
        return state, []
    start, idle_ms, ign_off = state.start, state.idle_ms, state.ign_off
    if prev is not None and s.ts_ms - prev.ts_ms > p.max_gap_s * 1000:
        if start is None:  # moving into the gap: the gap is the stop, from the last fix before it
            start, ign_off = prev, prev.ignition is False
        # a gap is not idling: nobody saw the engine run
    elif prev is not None and start is not None and prev.engine_on:
        idle_ms += s.ts_ms - prev.ts_ms
    out: list[Stop] = []
    if s.speed_kmh <= p.speed_kmh or s.ignition is False:  # stopped
        start = start or s
        ign_off = ign_off or s.ignition is False
    elif start is not None:
        if s.ts_ms - start.ts_ms >= p.min_duration_s * 1000:
            out.append(_stop(vehicle_id, start, s.ts_ms, idle_ms, ign_off, False, fleet_id))
        start, idle_ms, ign_off = None, 0, False
    return StopState(s, start, idle_ms, ign_off), out


def finish(state: StopState, vehicle_id: str, p: StopParams, fleet_id: str | None = None) -> list[Stop]:
    """The stop still going on at the last fix (the end of a batch range), if long enough."""
    start, prev = state.start, state.prev
    if start is None or prev is None or prev.ts_ms - start.ts_ms < p.min_duration_s * 1000:
        return []
    return [_stop(vehicle_id, start, prev.ts_ms, state.idle_ms, state.ign_off, True, fleet_id)]


def tick(state: StopState, vehicle_id: str, now_ms: int, p: StopParams, fleet_id: str | None = None) -> tuple[StopState, list[Stop]]:
    """Timer at the vehicle's event-time ``now_ms``: announce, once per silence, the stop a silent vehicle is in."""
    prev = state.prev
    if prev is None or state.announced or now_ms - prev.ts_ms <= p.max_gap_s * 1000:
        return state, []
    start, ign_off = (state.start, state.ign_off) if state.start is not None else (prev, prev.ignition is False)
    if now_ms - start.ts_ms < p.min_duration_s * 1000:  # only if max_gap_s < min_duration_s
        return state, []
    return replace(state, announced=True), [_stop(vehicle_id, start, prev.ts_ms, state.idle_ms, ign_off, True, fleet_id)]


def detect_stops(vehicle_id: str, samples: Sequence[Sample], *, speed_kmh: float, min_duration_s: float,
                 max_gap_s: float) -> list[Stop]:
    """The stops in ``samples`` (sorted by time; equal timestamps keep the first): ``step`` over them, then ``finish``."""
    p, state, out = StopParams(speed_kmh, min_duration_s, max_gap_s), StopState(), []
    for s in samples:
        state, ended = step(state, s, vehicle_id, p)
        out += ended
    return out + finish(state, vehicle_id, p)


def with_place(stop: Stop, index: PlaceIndex) -> Stop:
    """The stop with ``place`` set; its id (vehicle and start) unchanged."""
    return replace(stop, place=index.label(stop.lat, stop.lon))


def with_places(stops: Iterable[Stop], index: PlaceIndex) -> list[Stop]:
    return [with_place(s, index) for s in stops]
