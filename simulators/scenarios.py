"""Scripted drives that raise each fleet alert on demand, for demos and end-to-end tests.

Each scenario is a pure function of a ``ScenarioContext`` (vehicle, start time, home, zones,
thresholds) returning the ``Message`` s a device would publish, with explicit event times: the
same context gives the same messages. ``expected`` lists the alerts the scenario must raise on
a vehicle with no service due, with the default ``FleetSettings`` (``FLEET_`` thresholds) and
the messages delivered as scheduled (``at_ms``); ``trips`` the trips it must produce. The
default vehicles and geofences are those of ``config/vehicles.json`` and
``config/geofences.geojson``; ``scenario_plan.plan`` maps them to other ids and lays several
scenarios out in time. Catalogue: docs/simulators.md.

Every scenario that runs the engine starts and ends parked with the ignition off: a first fix
with the key off, the key turned (``ignition_on``), the manoeuvre, the key off again
(``ignition_off``) and, after a drive, a stop long enough to end the motion
(``trip_min_stop_s``: ``motion_stopped``). So scenarios on one vehicle add up: none leaves a
motion open or an ignition state for the next one to report.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts import alert as A
from rules.fleet.config import FleetSettings
from rules.fleet.geofence_shapes import Geofence
from simulators.scenario_device import Device, Message
from simulators.scenario_places import crossing
from simulators.vehicles import offset


class ScenarioError(ValueError):
    """A scenario cannot run on this vehicle / registry (no speed limit, wrong zone kind)."""


@dataclass(frozen=True)
class ScenarioContext:
    vehicle_id: str
    start_ms: int
    home: tuple[float, float]  # (lat, lon) where the vehicle may stand without breaking a zone rule
    speed_limit_kmh: float | None  # effective limit at home (vehicle, else fleet, else default)
    fence: Geofence | None = None  # the zone a geofence scenario is about
    cfg: FleetSettings = field(default_factory=FleetSettings)


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    vehicle: str  # default vehicle id (config/vehicles.json)
    expected: Mapping[str, int]  # alert type -> count
    build: Callable[[ScenarioContext], list[Message]]
    trips: int = 0
    geofence: str | None = None  # default zone id (config/geofences.geojson)
    fence_kind: str | None = None  # the kind the zone must have
    late: int = 0  # fixes the reorder buffer must flag late
    duplicates: int = 0  # duplicates it must drop


def _device(ctx: ScenarioContext, **kw: object) -> Device:
    return Device(ctx.vehicle_id, ctx.start_ms, *ctx.home, **kw)  # type: ignore[arg-type]


def _start(d: Device) -> Device:
    """Parked with the key off (the state scenarios start and end in), then the key turned."""
    d.switch(False)
    d.emit()
    d.switch(True)
    d.wait(10)
    return d


def _park(d: Device, ctx: ScenarioContext) -> None:
    """Key off and stand, a fix a minute, until the stop has lasted ``trip_min_stop_s``."""
    d.switch(False)
    d.wait(math.ceil(ctx.cfg.trip_min_stop_s / 60) * 60, every_s=60)


def _limit(ctx: ScenarioContext) -> float:
    if ctx.speed_limit_kmh is None:
        raise ScenarioError(f"{ctx.vehicle_id} has no speed limit (vehicle, fleet or FLEET_DEFAULT_SPEED_LIMIT_KMH)")
    return ctx.speed_limit_kmh


def _fence(ctx: ScenarioContext) -> Geofence:
    if ctx.fence is None:
        raise ScenarioError("this scenario needs a geofence")
    return ctx.fence


# -- driving ------------------------------------------------------------------------------------
def overspeed(ctx: ScenarioContext) -> list[Message]:
    """25 km/h over the limit for 30 s (warning: under the 30 km/h critical margin), then slow down."""
    d = _start(_device(ctx))
    d.ramp(_limit(ctx) + 25)
    d.cruise(30)
    d.ramp(0)
    d.wait(20)
    _park(d, ctx)
    return d.messages


def harsh_braking(ctx: ScenarioContext) -> list[Message]:
    """60 km/h, then 20 km/h per second to a stop (5.6 m/s^2 from the speed change, no accelerometer)."""
    d = _start(_device(ctx))
    d.ramp(60)
    d.cruise(15)
    d.ramp(0, kmh_per_s=20)
    d.wait(20)
    _park(d, ctx)
    return d.messages


def harsh_acceleration(ctx: ScenarioContext) -> list[Message]:
    """From a standstill to 60 km/h at 15 km/h per second (4.2 m/s^2), then a gentle stop."""
    d = _start(_device(ctx))
    d.ramp(60, kmh_per_s=15)
    d.cruise(15)
    d.ramp(0)
    d.wait(20)
    _park(d, ctx)
    return d.messages


def harsh_cornering(ctx: ScenarioContext) -> list[Message]:
    """A device with an accelerometer takes a bend at 40 km/h with 5.2 m/s^2 lateral for 3 s."""
    d = _start(_device(ctx, accelerometer=True))
    d.ramp(40)
    d.cruise(10)
    for _ in range(3):
        d.heading_deg += 30
        d.step(40, accel_ms2={"x": 0.0, "y": 5.2, "z": 9.81})
    d.cruise(10)
    d.ramp(0)
    d.wait(20)
    _park(d, ctx)
    return d.messages


def trip(ctx: ScenarioContext) -> list[Message]:
    """A complete trip: 2 km east at 50 km/h, a 60 s stop at a light (does not split the trip),
    2 km north, park and switch off; fixes while parked until the 5-minute stop ends the trip."""
    d = _start(_device(ctx))
    d.drive_to(*offset(*ctx.home, 0, 2000), 50)
    d.wait(60)
    d.drive_to(*offset(*ctx.home, 2000, 2000), 50)
    d.wait(10)
    d.switch(False)
    d.wait(330)
    return d.messages


def sos_drive(ctx: ScenarioContext) -> list[Message]:
    """The key turned, 1 km east at 40 km/h; the driver presses SOS (two fixes carry it: one alarm),
    stops and parks: ignition_on, motion_started, device_alarm (sos, critical), ignition_off,
    motion_stopped - each once."""
    d = _start(_device(ctx))
    d.drive_to(*offset(*ctx.home, 0, 1000), 40)
    d.wait(20, every_s=10, alarm="sos")
    d.wait(20)
    _park(d, ctx)
    return d.messages


# -- zones --------------------------------------------------------------------------------------
def _in_and_out(ctx: ScenarioContext, kind: str) -> tuple[Device, tuple[float, float], tuple[float, float]]:
    fence = _fence(ctx)
    if fence.kind != kind:
        raise ScenarioError(f"geofence {fence.id} is {fence.kind!r}, this scenario needs a {kind!r} zone")
    inside, outside = crossing(fence)
    return _device(ctx), inside, outside


def _visit(ctx: ScenarioContext, kind: str) -> list[Message]:
    """From 150 m outside a zone of ``kind`` to inside, 30 s there, and back out."""
    d, inside, outside = _in_and_out(ctx, kind)
    d.lat, d.lon = outside
    _start(d)
    d.wait(20, every_s=5)
    d.drive_to(*inside, 30)
    d.wait(30, every_s=5)
    d.drive_to(*outside, 30)
    d.wait(20, every_s=5)
    _park(d, ctx)
    return d.messages


def geofence_enter_exit(ctx: ScenarioContext) -> list[Message]:
    """Drive from 150 m outside a plain zone (kind ``zone``) to 150 m inside it (or onto the
    centre line of a corridor), stay 30 s, drive back out: enter and exit, nothing else."""
    return _visit(ctx, "zone")


def geofence_inside_forbidden(ctx: ScenarioContext) -> list[Message]:
    """Drive 150 m into a forbidden zone, stay 30 s, leave: enter, inside_forbidden, exit."""
    return _visit(ctx, "forbidden")


def forbidden_pass(ctx: ScenarioContext) -> list[Message]:
    """A sparse device (a fix every minute or two) drives north straight through a forbidden zone
    at 60 km/h: the fixes 300 m before and 300 m beyond it are both outside, only the segment
    check sees the pass - enter, inside_forbidden and exit, estimated between the two fixes;
    then 3 km on, a fix a minute, and park."""
    fence = _fence(ctx)
    if fence.kind != "forbidden":
        raise ScenarioError(f"geofence {fence.id} is {fence.kind!r}, this scenario needs a 'forbidden' zone")
    c = fence.area.representative_point()
    _, miny, _, maxy = fence.area.bounds
    south, north = miny - 300, maxy + 300
    dt = (north - south) / (60 / 3.6)
    if dt > ctx.cfg.geofence_segment_max_gap_s:
        raise ScenarioError(f"geofence {fence.id} is too long for one fix at 60 km/h within geofence_segment_max_gap_s")
    d = _device(ctx)
    d.lon, d.lat = fence.projection.to_lonlat(c.x, south)
    d.heading_deg = 0.0
    _start(d)
    d.step(60.0, dt)
    for _ in range(3):
        d.step(60.0, 60)
    d.step(0.0, 60)
    _park(d, ctx)
    return d.messages


def geofence_outside_allowed(ctx: ScenarioContext) -> list[Message]:
    """While the allowed zone's schedule is active (the start is moved back to a school day,
    07:00-17:00 Berlin, for the family car), leave the zone for 30 s and come back:
    exit, outside_allowed, enter."""
    d, inside, outside = _in_and_out(ctx, "allowed")
    d.lat, d.lon = inside
    _start(d)
    d.wait(20, every_s=5)
    d.drive_to(*outside, 30)
    d.wait(30, every_s=5)
    d.drive_to(*inside, 30)
    d.wait(20, every_s=5)
    _park(d, ctx)
    return d.messages


# -- standing still -----------------------------------------------------------------------------
def idle(ctx: ScenarioContext) -> list[Message]:
    """Engine on, not moving, a fix every 10 s for 5.5 minutes; then switched off."""
    d = _start(_device(ctx))
    d.wait(330)
    d.switch(False)
    d.wait(20)
    return d.messages


def _parked_values(ctx: ScenarioContext, values: list[dict[str, Any]], engine: bool, every_s: float = 10.0) -> list[Message]:
    """Stand at home, one fix per item of ``values`` (field overrides), then two normal fixes."""
    d = _device(ctx)
    if engine:
        _start(d)
    else:
        d.switch(False)
        d.emit()
    for fields in values:
        d.step(0.0, every_s, **fields)
    d.wait(2 * every_s, every_s)
    d.switch(False)
    d.wait(every_s, every_s)
    return d.messages


def coolant_high(ctx: ScenarioContext) -> list[Message]:
    """Engine running, coolant climbs to 116 C (warning above 110, critical above 120) and cools."""
    temps = [95, 104, 112, 114, 116, 115, 113, 100]
    return _parked_values(ctx, [{"coolant_temp_c": float(t)} for t in temps], engine=True)


def charging_fault(ctx: ScenarioContext) -> list[Message]:
    """Engine running (rpm 750) but the battery sits at 12.4-12.6 V: the alternator does not charge."""
    return _parked_values(ctx, [{"battery_v": v} for v in (12.6, 12.5, 12.5, 12.4, 12.4)], engine=True)


def battery_low(ctx: ScenarioContext) -> list[Message]:
    """Parked, engine off, battery at 12.0 V (warning under 12.2, critical under 11.8), a fix a minute."""
    return _parked_values(ctx, [{"battery_v": 12.0}] * 4, engine=False, every_s=60)


def tire_pressure_low(ctx: ScenarioContext) -> list[Message]:
    """Front right tire at 180 kPa (warning under 190) for four fixes, then inflated to 235."""
    wheels = {"fl": 230.0, "fr": 180.0, "rl": 230.0, "rr": 230.0}
    return _parked_values(ctx, [{"tire_pressure_kpa": wheels}] * 4 + [{"tire_pressure_kpa": {**wheels, "fr": 235.0}}], engine=True)


def oil_life_low(ctx: ScenarioContext) -> list[Message]:
    """Oil life at 12 % (warning under 15, critical under 5), then changed (100 %)."""
    return _parked_values(ctx, [{"oil_life_pct": 12.0}] * 4 + [{"oil_life_pct": 100.0}], engine=True)


def rpm_high(ctx: ScenarioContext) -> list[Message]:
    """Revving a standing engine to 6000-6200 rpm (warning above 5500) for three fixes."""
    return _parked_values(ctx, [{"rpm": r} for r in (3000.0, 6000.0, 6200.0, 6100.0, 2000.0)], engine=True)


def new_dtc(ctx: ScenarioContext) -> list[Message]:
    """The device reports P0301 (cylinder 1 misfire, critical) in four fixes: one alert, not four."""
    return _parked_values(ctx, [{"dtc": ["P0301"]}] * 4 + [{"dtc": []}], engine=True)


def fuel_drop(ctx: ScenarioContext) -> list[Message]:
    """Parked with the engine off, a fix a minute: the tank falls from 60 % to 48 % at once (siphoning)."""
    return _parked_values(ctx, [{"fuel_level_pct": f} for f in (60.0, 60.0, 60.0, 48.0, 48.0, 48.0)], engine=False, every_s=60)


def refuel(ctx: ScenarioContext) -> list[Message]:
    """Parked with the engine off, the tank goes from 20 % to 80 %."""
    return _parked_values(ctx, [{"fuel_level_pct": f} for f in (20.0, 20.0, 20.0, 80.0, 80.0, 80.0)], engine=False, every_s=60)


# -- the device ---------------------------------------------------------------------------------
def device_offline(ctx: ScenarioContext) -> list[Message]:
    """Parked fixes for a minute, silence for the offline timeout + 60 s, then three more fixes:
    device_offline (from the wall-clock timer, so only when the silence is real: publish at
    speed-up 1) and device_online."""
    d = _device(ctx)
    d.switch(False)
    d.emit()
    d.wait(60)
    d.t_ms += int((ctx.cfg.offline_timeout_s + 60) * 1000)
    d.emit()
    d.wait(20)
    return d.messages


def out_of_order(ctx: ScenarioContext) -> list[Message]:
    """Cruise at about 50 km/h, 1 Hz, for 100 s. Coverage drops for 20 s: those fixes are sent in
    a burst when it returns, newest first, five of them twice; two live fixes are sent twice
    (QoS 1 redelivery); one fix is sent 60 s late. No alert: the reorder buffer puts the burst
    in order, drops 7 duplicates and keeps the 60 s late fix flagged ``late`` (rules skip it)."""
    rng = random.Random(7)
    d = _start(_device(ctx))
    d.ramp(48)
    n0 = len(d.messages)
    for _ in range(100):
        d.step(48 + rng.choice((-2.0, 0.0, 2.0)))
    n1 = len(d.messages)
    d.ramp(0)
    d.wait(20)
    _park(d, ctx)
    head, cruise, tail = d.messages[:n0], d.messages[n0:n1], d.messages[n1:]
    gap = cruise[40:60]
    held = cruise[20]
    out: list[Message] = list(head)
    for i, m in enumerate(cruise):
        if m in gap or m is held:
            continue
        out.append(m)
        if i in (10, 70):
            out.append(_at(m, m.at_ms + 300))  # QoS 1 redelivery
        if i == 60:
            for j, g in enumerate(reversed(gap)):
                out.append(_at(g, m.at_ms + 100 + j))
                if j % 4 == 0:
                    out.append(_at(g, m.at_ms + 150 + j))
        if i == 80:
            out.append(_at(held, held.ts_ms + 60_000 + 500))
    out.extend(tail)
    return sorted(out, key=lambda m: m.at_ms)


def _at(m: Message, at_ms: int) -> Message:
    return Message(at_ms, m.ts_ms, m.topic, m.payload)


# What starting and ending parked adds (see the module doc): the key turned on and off, and a
# drive long enough to be announced (motion_min_distance_m or motion_min_duration_s).
KEY_TURNED = {A.IGNITION_ON: 1, A.IGNITION_OFF: 1}
DROVE = {A.MOTION_STARTED: 1, A.MOTION_STOPPED: 1}

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("overspeed", overspeed.__doc__ or "", "taxi-03", {A.OVERSPEED: 1, A.OVERSPEED_END: 1, **KEY_TURNED, **DROVE}, overspeed),
    Scenario("harsh_braking", harsh_braking.__doc__ or "", "taxi-02", {A.HARSH_BRAKING: 1, **KEY_TURNED}, harsh_braking),
    Scenario("harsh_acceleration", harsh_acceleration.__doc__ or "", "taxi-02", {A.HARSH_ACCELERATION: 1, **KEY_TURNED}, harsh_acceleration),
    Scenario("harsh_cornering", harsh_cornering.__doc__ or "", "taxi-01", {A.HARSH_CORNERING: 1, **KEY_TURNED}, harsh_cornering),
    Scenario("geofence_enter_exit", geofence_enter_exit.__doc__ or "", "taxi-04",
             {A.GEOFENCE_ENTER: 1, A.GEOFENCE_EXIT: 1, **KEY_TURNED}, geofence_enter_exit, geofence="a100-roadworks", fence_kind="zone"),
    Scenario("geofence_outside_allowed", geofence_outside_allowed.__doc__ or "", "family-car",
             {A.GEOFENCE_EXIT: 1, A.GEOFENCE_OUTSIDE_ALLOWED: 1, A.GEOFENCE_ENTER: 1, **KEY_TURNED, **DROVE}, geofence_outside_allowed,
             geofence="lena-school-days", fence_kind="allowed"),
    Scenario("geofence_inside_forbidden", geofence_inside_forbidden.__doc__ or "", "taxi-01",
             {A.GEOFENCE_ENTER: 1, A.GEOFENCE_INSIDE_FORBIDDEN: 1, A.GEOFENCE_EXIT: 1, **KEY_TURNED, **DROVE}, geofence_inside_forbidden,
             geofence="tegel-restricted", fence_kind="forbidden"),
    Scenario("forbidden_pass", forbidden_pass.__doc__ or "", "taxi-04",
             {A.GEOFENCE_ENTER: 1, A.GEOFENCE_INSIDE_FORBIDDEN: 1, A.GEOFENCE_EXIT: 1, **KEY_TURNED, **DROVE}, forbidden_pass,
             geofence="tegel-restricted", fence_kind="forbidden"),
    Scenario("idle", idle.__doc__ or "", "van-01", {A.IDLE: 1, **KEY_TURNED}, idle),
    Scenario("coolant_high", coolant_high.__doc__ or "", "van-03", {A.COOLANT_HIGH: 1, **KEY_TURNED}, coolant_high),
    Scenario("battery_low", battery_low.__doc__ or "", "van-04", {A.BATTERY_LOW: 1}, battery_low),
    Scenario("charging_fault", charging_fault.__doc__ or "", "van-03", {A.CHARGING_FAULT: 1, **KEY_TURNED}, charging_fault),
    Scenario("tire_pressure_low", tire_pressure_low.__doc__ or "", "van-01", {A.TIRE_PRESSURE_LOW: 1, **KEY_TURNED}, tire_pressure_low),
    Scenario("oil_life_low", oil_life_low.__doc__ or "", "van-01", {A.OIL_LIFE_LOW: 1, **KEY_TURNED}, oil_life_low),
    Scenario("rpm_high", rpm_high.__doc__ or "", "van-03", {A.RPM_HIGH: 1, **KEY_TURNED}, rpm_high),
    Scenario("new_dtc", new_dtc.__doc__ or "", "van-03", {A.DTC: 1, **KEY_TURNED}, new_dtc),
    Scenario("fuel_drop", fuel_drop.__doc__ or "", "van-02", {A.FUEL_DROP: 1}, fuel_drop),
    Scenario("refuel", refuel.__doc__ or "", "van-04", {A.REFUEL: 1}, refuel),
    Scenario("trip", trip.__doc__ or "", "taxi-03", {**KEY_TURNED, **DROVE}, trip, trips=1),
    Scenario("sos_drive", sos_drive.__doc__ or "", "taxi-02", {A.DEVICE_ALARM: 1, **KEY_TURNED, **DROVE}, sos_drive),
    Scenario("device_offline", device_offline.__doc__ or "", "taxi-04", {A.DEVICE_OFFLINE: 1, A.DEVICE_ONLINE: 1},
             device_offline),
    Scenario("out_of_order", out_of_order.__doc__ or "", "taxi-04", {**KEY_TURNED, **DROVE}, out_of_order, late=1, duplicates=7),
)}
