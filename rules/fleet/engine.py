"""One vehicle's whole rule pipeline: the function a Bytewax ``stateful_map`` calls per fix.

``on_fix(state, fix, arrival_ms, registry, cfg)`` runs the reorder buffer, then every rule on
each fix it releases in event-time order. Late / future-stamped fixes are passed on for
storage (``ProcessedFix.flag``) but no rule sees them. ``on_tick(state, vehicle_id, now_ms,
registry, cfg)`` is the timer, at the stream clock's now (``stream_clock.py``): it flushes fixes
that waited out the lateness, raises ``device_offline``, closes trips of vehicles that went
quiet and announces the stop they are in. Both return the new state and an ``Output``;
``expired`` tells when the state can be dropped (return None).

Every rule runs isolated (Traccar style): a rule that raises leaves its part of the state as it
was and adds a ``RuleError`` to ``Output.errors``; the other rules still run on that fix. A fix
or tick of a vehicle that is no longer in the registry (deleted while its data was in flight)
gives error records too, never a ``KeyError``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, TypeVar

from contracts import alert as A
from contracts.day_score import DayScore
from contracts.health import HealthReport, ServiceForecast
from contracts.stop import Stop
from contracts.telemetry import Telemetry
from contracts.trip import Trip

from . import alarms, dtc, fuel, geofences, harsh_driving, idle, ignition, motion, offline, overspeed, ranges, segment_crossing, service_due, trips
from . import health as H
from . import maintenance as M
from . import ordering as O
from . import scoring as S
from . import stops as stop_rules
from .config import FleetSettings
from .geo import haversine_m
from .geofence_shapes import Geofence
from .registry import Fleet, Registry, Vehicle
from .rule_error import RuleError
from .stats import MinuteStats

T = TypeVar("T")


@dataclass(frozen=True)
class ProcessedFix:
    """A released fix for storage and the 1-minute window; ``flag`` set = rules skipped it."""

    fix: Telemetry
    flag: O.Flag | None
    segment_m: float
    zones: tuple[str, ...]


@dataclass
class Output:
    fixes: list[ProcessedFix] = field(default_factory=list)
    alerts: list[A.Alert] = field(default_factory=list)
    trips: list[Trip] = field(default_factory=list)
    stops: list[Stop] = field(default_factory=list)  # ended stops, and those a silent vehicle is in (ongoing)
    days: list[DayScore] = field(default_factory=list)
    health: list[HealthReport] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)
    link: list[O.LinkStats] = field(default_factory=list)  # ordering counters, from the timer once a minute
    # filled by the flow's bucket step (dataflows/vehicle_buckets.py), not by on_fix / on_tick:
    minutes: list[tuple[str, int, MinuteStats]] = field(default_factory=list)  # closed 1-minute windows: vehicle, window id, stats
    window_late: list[ProcessedFix] = field(default_factory=list)  # released fixes too late for their window

    def extend(self, other: Output) -> None:
        self.fixes += other.fixes
        self.alerts += other.alerts
        self.trips += other.trips
        self.stops += other.stops
        self.days += other.days
        self.health += other.health
        self.errors += other.errors
        self.link += other.link
        self.minutes += other.minutes
        self.window_late += other.window_late


def _emitted(alerts: Sequence[A.Alert] = (), trips_: Sequence[Trip] = (), days: Sequence[DayScore] = (),
             health: Sequence[HealthReport] = (), stops_: Sequence[Stop] = ()) -> Output | None:
    """What a rule emitted for a fix; None for nothing, the common case (saves an Output per rule and fix)."""
    if not (alerts or trips_ or days or health or stops_):
        return None
    return Output(alerts=list(alerts), trips=list(trips_), days=list(days), health=list(health), stops=list(stops_))


@dataclass
class VehicleState:
    """One vehicle's rule state. The parts are immutable values the rules' pure steps return;
    the state itself is updated in place by ``on_fix`` / ``on_tick`` (rebinding a part, never
    changing one): a new 21-field object per rule and fix cost more than it bought (issue 11).
    So a caller that keeps a state for later (a Bytewax snapshot) takes ``frozen_copy`` of it."""

    reorder: O.ReorderState = O.ReorderState()
    offline: offline.OfflineState = offline.OfflineState()
    geofence: geofences.GeofenceState = geofences.GeofenceState()
    overspeed: overspeed.OverspeedState = overspeed.OverspeedState()
    harsh: harsh_driving.HarshState = harsh_driving.HarshState()
    idle: idle.IdleState = idle.IdleState()
    ranges: ranges.RangeState = ranges.RangeState()
    dtc: dtc.DtcState = dtc.DtcState()
    fuel: fuel.FuelState = fuel.FuelState()
    trips: trips.TripState = trips.TripState()
    stops: stop_rules.StopState = stop_rules.StopState()
    motion: motion.MotionState = motion.MotionState()
    ignition: ignition.IgnitionState = ignition.IgnitionState()
    alarms: alarms.AlarmState = alarms.AlarmState()
    daily: S.DailyState = S.DailyState()
    health: H.HealthState = H.HealthState()
    usage: M.UsageState = M.UsageState()
    service_due: service_due.DueState = service_due.DueState()
    last_status: str | None = None
    last_health_day: int | None = None
    last_fuel_drop_ts: int | None = None
    prev: tuple[int, float, float] | None = None  # (ts, lat, lon) of the last in-order fix


_STATE_FIELDS = frozenset(f.name for f in fields(VehicleState))


Parts = dict[str, object]  # VehicleState field -> its new value


def _with(st: VehicleState, **parts: object) -> Parts:
    """The parts a rule updates. The engine rebinds them only once the rule returned, so a rule
    that raises has changed nothing (isolation); ``_check_fields`` catches a misspelt part."""
    return parts


def _check_fields(st: VehicleState) -> None:
    """A part name that is not a field would add an attribute: checked once per fix and tick
    (a check per rebinding was ~5% of the engine's time, issue 11)."""
    if len(st.__dict__) != len(_STATE_FIELDS):
        raise TypeError(f"VehicleState has no field(s) {sorted(st.__dict__.keys() - _STATE_FIELDS)}")


def _set(st: VehicleState, **parts: object) -> VehicleState:
    """Rebind parts of ``st`` in place (the engine's own steps, after they succeeded)."""
    st.__dict__.update(parts)
    return st


def frozen_copy(st: VehicleState) -> VehicleState:
    """A copy that later ``on_fix`` / ``on_tick`` calls on ``st`` do not change (for snapshots):
    shallow is enough, the parts are immutable."""
    return copy.copy(st)


@dataclass(frozen=True)
class _At:
    """Where a step runs, for its error record."""

    vehicle_id: str
    ts: int
    received_at_ms: int
    fix: Telemetry | None = None


def _nothing() -> list[Any]:
    """A step's empty output as a fallback (typed so that any step's list matches it)."""
    return []


def _isolated(rule: str, at: _At, errors: list[RuleError], fallback: T, step: Callable[..., T], *args: object) -> T:
    """``step(*args)``; if it raises, record a ``RuleError`` and return ``fallback`` (the rule's
    state as it was), so one bad rule or value costs that rule one fix instead of stopping the flow."""
    try:
        return step(*args)
    except Exception as exc:
        errors.append(RuleError.of(rule, at.vehicle_id, at.ts, at.received_at_ms, exc, at.fix))
        return fallback


@dataclass
class _Fix:
    """What the rules of one in-order fix share: its inputs and what earlier rules emitted for it."""

    fix: Telemetry
    vehicle: Vehicle
    reg: Registry
    cfg: FleetSettings
    new_day: bool  # first fix of a UTC day: health report
    emitted: Output = field(default_factory=Output)

    @cached_property
    def fleet(self) -> Fleet | None:
        return self.reg.fleet_of(self.vehicle)

    @cached_property
    def bands(self) -> list[ranges.Rating]:
        """The fix's value ratings, shared by the range incidents and the health state."""
        return ranges.bands(self.fix, self.cfg)

    @cached_property
    def fences(self) -> Mapping[str, Geofence]:
        return self.reg.fences_of(self.vehicle)

    def forecasts(self, usage: M.UsageState) -> list[ServiceForecast]:
        v, ts = self.vehicle, self.fix.ts_ms
        return [M.forecast(r, v.last_service[r.id], usage, ts) for r in self.reg.maintenance_rules if r.id in v.last_service]


# A rule: (state, shared context of the fix) -> (its own parts, new values; what it emitted).
# It must not change the state: the engine rebinds the parts once it returned.
Rule = Callable[[VehicleState, _Fix], tuple[Parts, Output | None]]


def _geofences(st: VehicleState, c: _Fix) -> tuple[Parts, Output | None]:
    gst, alerts = geofences.step(st.geofence, c.fix, c.vehicle.fleet_id, c.fences, c.cfg)
    return _with(st, geofence=gst), _emitted(alerts)


def _segments(st: VehicleState, c: _Fix) -> tuple[Parts, Output | None]:
    """Zones crossed between the previous fix (``st.prev``) and this one; reads the geofence state."""
    return {}, _emitted(segment_crossing.step(st.prev, c.fix, c.vehicle.fleet_id, c.fences, st.geofence.tracks, c.cfg))


def _overspeed(st: VehicleState, c: _Fix) -> tuple[Parts, Output | None]:
    ts = c.fix.ts_ms
    if any(t.inside for t in st.geofence.tracks.values()):
        zone_limit = geofences.speed_limit(st.geofence, c.fences, ts)
        since = geofences.limit_since(st.geofence, c.fences, ts)  # a zone limit applies from its crossing
        fence = geofences.limiting_zone(st.geofence, c.fences, ts)
    else:  # inside no zone (most fixes): no zone limit - what the three calls return then
        zone_limit, since, fence = None, None, None
    limit = overspeed.effective_limit(zone_limit, c.vehicle.speed_limit_kmh, c.fleet.speed_limit_kmh if c.fleet else None,
                                      c.cfg.default_speed_limit_kmh)
    zone = (fence.id, fence.name) if fence is not None and fence.speed_limit_kmh == limit else None
    ost, alerts = overspeed.step(st.overspeed, c.fix, c.vehicle.fleet_id, limit, c.cfg, since, zone)
    return _with(st, overspeed=ost), _emitted(alerts)


def _simple(attr: str, step: Callable[..., tuple[object, list[A.Alert]]]) -> Rule:
    """A rule whose step is ``step(state.<attr>, fix, fleet_id, cfg) -> (new part, alerts)``."""
    def rule(st: VehicleState, c: _Fix) -> tuple[Parts, Output | None]:
        part, alerts = step(getattr(st, attr), c.fix, c.vehicle.fleet_id, c.cfg)
        return _with(st, **{attr: part}), _emitted(alerts)
    return rule


def _ranges(st: VehicleState, c: _Fix) -> tuple[Parts, Output | None]:
    part, alerts = ranges.step(st.ranges, c.fix, c.vehicle.fleet_id, c.cfg, c.bands)
    return _with(st, ranges=part), _emitted(alerts)


def _fuel(st: VehicleState, c: _Fix) -> tuple[Parts, Output | None]:
    fst, alerts = fuel.step(st.fuel, c.fix, c.vehicle.fleet_id, c.cfg)
    drop_ts = max([st.last_fuel_drop_ts or 0] + [a.ts for a in alerts if a.type == A.FUEL_DROP]) or None
    return _with(st, fuel=fst, last_fuel_drop_ts=drop_ts), _emitted(alerts)


def _trips(st: VehicleState, c: _Fix) -> tuple[Parts, Output | None]:
    """Counts the harsh / overspeed alerts the earlier rules emitted for this fix."""
    tst, finished = trips.step(st.trips, c.fix, c.vehicle.fleet_id, c.emitted.alerts, c.cfg)
    return _with(st, trips=tst), _emitted(trips_=finished)


def _stops(st: VehicleState, c: _Fix) -> tuple[Parts, Output | None]:
    """The same step reports run over stored fixes (``rules.fleet.stops.detect_stops``)."""
    sst, ended = stop_rules.step(st.stops, stop_rules.sample_of(c.fix), c.fix.vehicle_id, stop_rules.StopParams.of(c.cfg), c.vehicle.fleet_id)
    return _with(st, stops=sst), _emitted(stops_=ended)


def _motion(st: VehicleState, c: _Fix) -> tuple[Parts, Output | None]:
    """Reads the trip state the trip rule just updated (motion is derived from trips)."""
    mst, alerts = motion.step(st.motion, st.trips, c.fix.vehicle_id, c.vehicle.fleet_id, c.cfg, c.fix.ts_ms)
    return _with(st, motion=mst), _emitted(alerts)


def _scoring(st: VehicleState, c: _Fix) -> tuple[Parts, Output | None]:
    daily, days = score_days(st.daily, c.emitted.trips, c.fleet, c.cfg)
    return _with(st, daily=daily), _emitted(days=days)


def score_days(daily: S.DailyState, finished: Sequence[Trip], fleet: Fleet | None, cfg: FleetSettings) -> tuple[S.DailyState, list[DayScore]]:
    """Fold finished trips into their days (the fleet's time zone); the updated day records.

    Called for the trips a fix ends and for those the timer ends (a parked vehicle sends nothing,
    so most trips end on a tick: before 2026-12-03 those never reached a day score)."""
    tz = (fleet.timezone if fleet else None) or cfg.score_timezone
    days = []
    for t in finished:
        daily, day = S.add_trip(daily, t, tz, cfg)
        days.append(day)
    return daily, days


def _maintenance(st: VehicleState, c: _Fix) -> tuple[Parts, Output | None]:
    """Usage (odometer, engine hours) and the due check (a threshold compare) on every fix."""
    v, fix = c.vehicle, c.fix
    usage = M.update_usage(st.usage, fix.ts_ms, fix.odometer_km, fix.engine_hours, c.cfg)
    km, hours = usage.latest()
    due, alerts = service_due.step(st.service_due, v.id, v.fleet_id, c.reg.maintenance_rules, v.last_service,
                                   fix.ts_ms, fix.lat, fix.lon, km, hours, c.cfg)
    return _with(st, usage=usage, service_due=due), _emitted(alerts)


def _health(st: VehicleState, c: _Fix) -> tuple[Parts, Output | None]:
    """Health report when the status changes and once per UTC day."""
    ts, cfg = c.fix.ts_ms, c.cfg
    hst = H.update(st.health, c.fix, cfg, c.bands)
    recent_drop = st.last_fuel_drop_ts is not None and ts - st.last_fuel_drop_ts < 86_400_000
    dtcs, forecasts = st.dtc.active(ts, cfg), c.forecasts(st.usage)
    now = H.status(hst, ts, cfg, dtcs, forecasts, recent_drop)
    reports = [H.assess(hst, c.vehicle.id, ts, cfg, dtcs, forecasts, recent_drop)] if now != st.last_status or c.new_day else []
    return _with(st, health=hst, last_status=now, last_health_day=ts // M.DAY_MS), _emitted(health=reports)


# In this order: overspeed reads the geofence state of this fix, trips count the alerts before
# them, motion reads the trip state they left, scoring scores the trips they finished, health
# reads this fix's usage.
RULES: tuple[tuple[str, Rule], ...] = (
    ("geofences", _geofences),
    ("segments", _segments),
    ("overspeed", _overspeed),
    ("harsh", _simple("harsh", harsh_driving.step)),
    ("idle", _simple("idle", idle.step)),
    ("ranges", _ranges),
    ("dtc", _simple("dtc", dtc.step)),
    ("fuel", _fuel),
    ("trips", _trips),
    ("stops", _stops),
    ("motion", _motion),
    ("ignition", _simple("ignition", ignition.step)),
    ("alarms", _simple("alarms", alarms.step)),
    ("scoring", _scoring),
    ("maintenance", _maintenance),
    ("health", _health),
)


def _rules(st: VehicleState, fix: Telemetry, v: Vehicle, reg: Registry, cfg: FleetSettings, received_at_ms: int,
           out: Output) -> VehicleState:
    c = _Fix(fix, v, reg, cfg, new_day=st.last_health_day != fix.ts_ms // M.DAY_MS)
    at = _At(fix.vehicle_id, fix.ts_ms, received_at_ms, fix)
    errors = c.emitted.errors
    for name, rule in RULES:
        try:
            parts, emitted = rule(st, c)
        except Exception as exc:  # _isolated, inlined: 15 rules per fix
            errors.append(RuleError.of(name, at.vehicle_id, at.ts, at.received_at_ms, exc, at.fix))
            continue
        st.__dict__.update(parts)
        if emitted is not None:
            c.emitted.extend(emitted)
    out.extend(c.emitted)
    _check_fields(st)
    return st


def _release(st: VehicleState, released: list[O.OrderedFix], v: Vehicle, reg: Registry, cfg: FleetSettings,
             received_at_ms: int, out: Output) -> VehicleState:
    for item in released:
        f = item.fix
        if item.flag is not None:
            out.fixes.append(ProcessedFix(f, item.flag, 0.0, ()))
            continue
        seg = haversine_m(st.prev[1], st.prev[2], f.lat, f.lon) if st.prev else 0.0
        st = _rules(st, f, v, reg, cfg, received_at_ms, out)
        st.prev = (f.ts_ms, f.lat, f.lon)
        out.fixes.append(ProcessedFix(f, None, seg, tuple(geofences.zones_inside(st.geofence))))
    return st


def on_fix(st: VehicleState, fix: Telemetry, arrival_ms: int, reg: Registry, cfg: FleetSettings) -> tuple[VehicleState, Output]:
    """One fix that passed the flow's registry check; ``arrival_ms`` = the Kafka record timestamp.

    The registry is live, so the vehicle may have been deleted since the check: then the fix
    becomes an error record and the state stays as it was.
    """
    out = Output()
    v = reg.vehicles.get(fix.vehicle_id)
    if v is None:
        out.errors.append(RuleError.not_in_registry(fix, arrival_ms))
        return st, out
    at = _At(fix.vehicle_id, fix.ts_ms, arrival_ms, fix)
    off, out.alerts = _isolated("offline", at, out.errors, (st.offline, _nothing()), offline.on_fix, st.offline, fix, v.fleet_id, arrival_ms, cfg)
    reorder, released = _isolated("ordering", at, out.errors, (st.reorder, _nothing()), O.push, st.reorder, fix, arrival_ms, cfg)
    st = _release(_set(st, offline=off, reorder=reorder), released, v, reg, cfg, arrival_ms, out)
    return st, out


def on_tick(st: VehicleState, vehicle_id: str, now_ms: int, reg: Registry, cfg: FleetSettings) -> tuple[VehicleState, Output]:
    """Timer at stream-clock ``now_ms`` (e.g. every second): flush waited fixes, offline check, close quiet trips.

    A vehicle deleted from the registry: its waiting fixes become error records and its state
    is dropped (``expired`` is then true), so it raises no offline alert and leaks no state.
    """
    out = Output()
    v = reg.vehicles.get(vehicle_id)
    if v is None:
        out.errors += [RuleError.not_in_registry(fix, now_ms) for _ts, _arrival, fix in st.reorder.pending]
        return VehicleState(), out
    at = _At(vehicle_id, now_ms, now_ms)
    # A tick per vehicle per second, most with nothing to do: the steps that would return their
    # state unchanged and nothing else are not called (nothing pending; no trip or motion open).
    reorder, released = st.reorder, _nothing()
    if reorder.pending:
        reorder, released = _isolated("ordering", at, out.errors, (reorder, _nothing()), O.flush_due, reorder, now_ms, cfg)
    reorder, out.link = O.report(reorder, vehicle_id, now_ms, cfg)
    st = _release(_set(st, reorder=reorder), released, v, reg, cfg, now_ms, out) if released else _set(st, reorder=reorder)
    off, alerts = _isolated("offline", at, out.errors, (st.offline, _nothing()), offline.tick, st.offline, vehicle_id, v.fleet_id, now_ms, cfg)
    out.alerts += alerts
    last = st.stops.prev
    if (last is not None and not st.stops.announced and not st.reorder.pending
            and event_now(st.offline, now_ms) - last.ts_ms > cfg.trip_max_gap_s * 1000):
        # a vehicle gone silent is in a stop (the gap rule): announced once, ongoing (most ticks skip this). Not while
        # fixes wait in the reorder buffer: a burst of old fixes puts the newest arrival far ahead of the last released one
        sst, silent = _isolated("stops", at, out.errors, (st.stops, _nothing()), stop_rules.tick, st.stops, vehicle_id,
                                event_now(st.offline, now_ms), stop_rules.StopParams.of(cfg), v.fleet_id)
        out.stops += silent
        st = _set(st, stops=sst)
    if st.trips.trip is None and st.motion.start_ts is None:
        return _set(st, offline=off), out
    # a fix still waiting in the reorder buffer shows the vehicle was not silent before it: the gap and stop
    # checks run to it at most (a burst of old fixes puts the newest arrival far ahead of the last released one)
    quiet_until = event_now(st.offline, now_ms) if not st.reorder.pending else min(event_now(st.offline, now_ms), st.reorder.pending[0][0])
    tst, finished = _isolated("trips", at, out.errors, (st.trips, _nothing()),
                              trips.tick, st.trips, vehicle_id, v.fleet_id, quiet_until, cfg)
    mst, ended = _isolated("motion", at, out.errors, (st.motion, _nothing()), motion.step, st.motion, tst, vehicle_id, v.fleet_id, cfg)
    no_days: list[DayScore] = []
    daily, days = (_isolated("scoring", at, out.errors, (st.daily, no_days), score_days, st.daily, finished, reg.fleet_of(v), cfg)
                   if finished else (st.daily, no_days))
    out.alerts += ended
    out.trips += finished
    out.days += days
    _set(st, offline=off, trips=tst, motion=mst, daily=daily)
    _check_fields(st)
    return st, out


def event_now(off: offline.OfflineState, now_ms: int) -> int:
    """The vehicle's event-time "now": its newest fix plus the stream time since it arrived.

    ``trips.tick`` compares this with fix times; ``now_ms`` is on the arrival clock (stream
    clock), so a device whose clock is off, or a replay of hours-old data, is measured by its
    own silence, not by wall clock minus event time.
    """
    if off.last_arrival_ms is None:
        return now_ms
    return off.last_event_ts + max(0, now_ms - off.last_arrival_ms)


def expired(st: VehicleState, now_ms: int, ttl_s: float = 7 * 86400) -> bool:
    """No data for ``ttl_s`` and nothing pending, or nothing ever kept (a vehicle that left the
    registry): the dataflow may drop the state."""
    last = st.offline.last_arrival_ms
    if last is None:
        return not st.reorder.pending
    return now_ms - last > ttl_s * 1000 and not st.reorder.pending and st.trips.trip is None
