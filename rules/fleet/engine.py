"""One vehicle's whole rule pipeline: the function a Bytewax ``stateful_map`` calls per fix.

``on_fix(state, fix, arrival_ms, registry, cfg)`` runs the reorder buffer, then every rule on
each fix it releases in event-time order. Late / future-stamped fixes are passed on for
storage (``ProcessedFix.flag``) but no rule sees them. ``on_tick(state, vehicle_id, now_ms,
registry, cfg)`` is the wall-clock timer: it flushes fixes that waited out the lateness,
raises ``device_offline`` and closes trips of vehicles that went quiet. Both return the new
state and an ``Output``; ``expired`` tells when the state can be dropped (return None).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from contracts.telemetry import Telemetry

from . import dtc, fuel, geofences, harsh_driving, idle, offline, overspeed, ranges, trips
from . import alerts as A
from . import health as H
from . import maintenance as M
from . import ordering as O
from . import scoring as S
from .config import FleetSettings
from .geo import haversine_m
from .registry import Registry, Vehicle


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
    trips: list[trips.Trip] = field(default_factory=list)
    days: list[S.DayScore] = field(default_factory=list)
    health: list[H.HealthReport] = field(default_factory=list)


@dataclass(frozen=True)
class VehicleState:
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
    daily: S.DailyState = S.DailyState()
    health: H.HealthState = H.HealthState()
    usage: M.UsageState = M.UsageState()
    maintenance_alerted: frozenset[str] = frozenset()
    last_status: str | None = None
    last_health_day: int | None = None
    last_fuel_drop_ts: int | None = None
    prev: tuple[int, float, float] | None = None  # (ts, lat, lon) of the last in-order fix


def _rules(st: VehicleState, fix: Telemetry, v: Vehicle, reg: Registry, cfg: FleetSettings, out: Output) -> VehicleState:
    fleet = reg.fleet_of(v)
    fid = v.fleet_id
    fences = {gid: f for gid, f in reg.geofences.items() if f.applies_to(v.id, fid)}
    gst, alerts = geofences.step(st.geofence, fix, fid, fences, cfg)
    limit = overspeed.effective_limit(geofences.speed_limit(gst, fences, fix.ts_ms), v.speed_limit_kmh,
                                      fleet.speed_limit_kmh if fleet else None, cfg.default_speed_limit_kmh)
    ost, a = overspeed.step(st.overspeed, fix, fid, limit, cfg); alerts += a
    hst, a = harsh_driving.step(st.harsh, fix, fid, cfg); alerts += a
    ist, a = idle.step(st.idle, fix, fid, cfg); alerts += a
    rst, a = ranges.step(st.ranges, fix, fid, cfg); alerts += a
    dst, a = dtc.step(st.dtc, fix, fid, cfg); alerts += a
    fst, a = fuel.step(st.fuel, fix, fid, cfg); alerts += a
    tst, finished = trips.step(st.trips, fix, fid, alerts, cfg)
    daily = st.daily
    for t in finished:
        daily, day = S.add_trip(daily, t, (fleet.timezone if fleet else None) or cfg.score_timezone, cfg)
        out.days.append(day)
    fuel_drop_ts = max([st.last_fuel_drop_ts or 0] + [x.ts for x in alerts if x.type == A.FUEL_DROP]) or None
    st = replace(st, geofence=gst, overspeed=ost, harsh=hst, idle=ist, ranges=rst, dtc=dst, fuel=fst, trips=tst,
                 daily=daily, health=H.update(st.health, fix, cfg), last_fuel_drop_ts=fuel_drop_ts,
                 usage=M.update_usage(st.usage, fix.ts_ms, fix.odometer_km, fix.engine_hours, cfg))
    st = _health(st, v, reg, fix.ts_ms, cfg, out, alerts)
    out.alerts += alerts
    out.trips += finished
    return st


def _health(st: VehicleState, v: Vehicle, reg: Registry, ts: int, cfg: FleetSettings, out: Output, alerts: list[A.Alert]) -> VehicleState:
    """Health report when the status changes and once per UTC day (with maintenance alerts)."""
    day = ts // M.DAY_MS
    forecasts = [M.forecast(r, v.last_service[r.id], st.usage, ts) for r in reg.maintenance_rules if r.id in v.last_service]
    new_day = st.last_health_day != day
    if new_day:
        keys, due = M.due_alerts(st.maintenance_alerted, v.id, v.fleet_id, forecasts, dict(v.last_service), ts)
        alerts += due
        st = replace(st, maintenance_alerted=keys, last_health_day=day)
    recent_drop = st.last_fuel_drop_ts is not None and ts - st.last_fuel_drop_ts < 86_400_000
    report = H.assess(st.health, v.id, ts, cfg, st.dtc.active(ts, cfg), forecasts, recent_drop)
    if report.status != st.last_status or new_day:
        out.health.append(report)
        st = replace(st, last_status=report.status)
    return st


def _release(st: VehicleState, released: list[O.OrderedFix], v: Vehicle, reg: Registry, cfg: FleetSettings, out: Output) -> VehicleState:
    for item in released:
        f = item.fix
        if item.flag is not None:
            out.fixes.append(ProcessedFix(f, item.flag, 0.0, ()))
            continue
        seg = haversine_m(st.prev[1], st.prev[2], f.lat, f.lon) if st.prev else 0.0
        st = _rules(st, f, v, reg, cfg, out)
        st = replace(st, prev=(f.ts_ms, f.lat, f.lon))
        out.fixes.append(ProcessedFix(f, None, seg, tuple(geofences.zones_inside(st.geofence))))
    return st


def on_fix(st: VehicleState, fix: Telemetry, arrival_ms: int, reg: Registry, cfg: FleetSettings) -> tuple[VehicleState, Output]:
    """One fix of a known, active vehicle (check ``reg.lookup`` first); arrival_ms = processing time."""
    v = reg.vehicles[fix.vehicle_id]
    out = Output()
    off, out.alerts = offline.on_fix(st.offline, fix, v.fleet_id, arrival_ms)
    reorder, released = O.push(st.reorder, fix, arrival_ms, cfg)
    st = _release(replace(st, offline=off, reorder=reorder), released, v, reg, cfg, out)
    return st, out


def on_tick(st: VehicleState, vehicle_id: str, now_ms: int, reg: Registry, cfg: FleetSettings) -> tuple[VehicleState, Output]:
    """Wall-clock timer (e.g. every 10 s): flush waited fixes, offline check, close quiet trips."""
    out = Output()
    v = reg.vehicles.get(vehicle_id)
    fid = v.fleet_id if v else None
    if v is not None:
        reorder, released = O.flush_due(st.reorder, now_ms, cfg)
        st = _release(replace(st, reorder=reorder), released, v, reg, cfg, out)
    off, alerts = offline.tick(st.offline, vehicle_id, fid, now_ms, cfg)
    tst, finished = trips.tick(st.trips, vehicle_id, fid, event_now(st.offline, now_ms), cfg)
    out.alerts += alerts
    out.trips += finished
    return replace(st, offline=off, trips=tst), out


def event_now(off: offline.OfflineState, now_ms: int) -> int:
    """The vehicle's event-time "now": its newest fix plus the processing time since it arrived.

    ``trips.tick`` compares this with fix times. Wall-clock now would close a moving vehicle's
    trip on every tick while a backlog or a replay (event times hours old) is being read.
    """
    if off.last_arrival_ms is None:
        return now_ms
    return off.last_event_ts + max(0, now_ms - off.last_arrival_ms)


def expired(st: VehicleState, now_ms: int, ttl_s: float = 7 * 86400) -> bool:
    """No data for ``ttl_s`` and nothing pending: the dataflow may drop the state."""
    last = st.offline.last_arrival_ms
    return last is not None and now_ms - last > ttl_s * 1000 and not st.reorder.pending and st.trips.trip is None
