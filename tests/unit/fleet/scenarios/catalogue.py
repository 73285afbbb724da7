"""The labelled drives: each a physical situation, its sensors and its link, with the truth
taken from the noise-free physics (a value passing its specification, a path crossing an edge,
a true speed above the limit), never from a rule's output."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from contracts import alert as A
from rules.fleet.geofence_shapes import Geofence, parse_feature
from rules.fleet.registry import Registry, parse_registry

from .physics import ORIGIN, T0, Drive, Sample, Truth, crossing_times, first_time, link, path, sense

# Zones, far enough apart that a drive near one never sees another (metres from ORIGIN).
FORBIDDEN = (0.0, 5000.0, 150.0)  # x, y, radius: a forbidden circle
SCHOOL = (5000.0, 0.0, 150.0)  # a 30 km/h zone
YARD = (-5000.0, 5000.0, 200.0)  # x, y of the south-west corner, side: a square forbidden zone (segment check on)
SPEC = {"battery_v": 12.2, "tire_kpa": 190.0, "coolant_c": 110.0}  # the specifications the truth uses (docs/alerts.md)


def _circle(gid: str, kind: str, zone: tuple[float, float, float], **props: object) -> Geofence:
    lon, lat = ORIGIN.to_lonlat(zone[0], zone[1])
    return parse_feature({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                          "properties": {"id": gid, "kind": kind, "radius_m": zone[2], **props}}, "scenario suite")


def _inside(zone: tuple[float, float, float]) -> Callable[[float, float], bool]:
    return lambda x, y: math.hypot(x - zone[0], y - zone[1]) <= zone[2]


def registry(drives: list[Drive]) -> Registry:
    vehicles = [{"id": d.vehicle_id, "name": d.name, "fleet_id": "suite"} for d in drives]
    x, y, side = YARD
    square = [list(ORIGIN.to_lonlat(px, py)) for px, py in ((x, y), (x + side, y), (x + side, y + side), (x, y + side), (x, y))]
    yard = parse_feature({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [square]},
                          "properties": {"id": "yard", "kind": "forbidden"}}, "scenario suite")
    fences = {"nogo": _circle("nogo", "forbidden", FORBIDDEN), "school": _circle("school", "zone", SCHOOL, speed_limit_kmh=30), "yard": yard}
    return parse_registry({"fleets": [{"id": "suite", "name": "Scenario suite"}], "vehicles": vehicles}, "scenario suite", fences)


def _ts(t_s: float) -> int:
    return T0 + int(round(t_s * 1000))


# -- device values ------------------------------------------------------------------------------

def battery_drain(seed: int) -> Drive:
    """Parked overnight, engine off, a parasitic drain: 12.6 V decaying toward 12.0 V (tau 4 h),
    a reading a minute for 10 h, +-0.03 V noise. Truth: below 12.2 V from the noise-free crossing."""
    rng = random.Random(seed)
    samples = [Sample(t, -3000, -3000, 0.0, False, {"battery_v": 12.0 + 0.6 * math.exp(-t / 14_400)}) for t in range(0, 36_000, 60)]
    onset = first_time(samples, lambda s: s.values["battery_v"] < SPEC["battery_v"])  # type: ignore[operator]
    vid = f"drain-{seed}"
    fixes = sense(rng, samples, vid, value_noise={"battery_v": 0.03})
    return Drive("battery draining overnight", vid, tuple(link(rng, fixes)), (Truth(A.BATTERY_LOW, _ts(onset), "battery"),),
                 "+-0.03 V, 1/min")


def battery_hovering(seed: int) -> Drive:
    """Parked, resting just under its limit: 12.18 V all night, +-0.03 V noise (crosses 12.2 V over
    a hundred times). Truth: one low battery, from the start."""
    rng = random.Random(seed)
    samples = [Sample(t, -3000, -3200, 0.0, False, {"battery_v": 12.18}) for t in range(0, 36_000, 60)]
    vid = f"hover-{seed}"
    fixes = sense(rng, samples, vid, value_noise={"battery_v": 0.03})
    return Drive("battery hovering at its limit", vid, tuple(link(rng, fixes)), (Truth(A.BATTERY_LOW, T0, "battery"),), "+-0.03 V, 1/min")


def tire_leaks(seed: int) -> Drive:
    """4 h on the road at 50-90 km/h; front right leaks 25 kPa/h, rear left 18 kPa/h, from 230 kPa
    cold; tires warm 8 % while driving (tau 20 min). A fix every 15 s, +-3 kPa noise. Truth: each
    leaking wheel below 190 kPa from the noise-free crossing; the others never."""
    rng = random.Random(seed)
    leak = {"fl": 0.0, "fr": 25.0, "rl": 18.0, "rr": 0.0}
    samples = []
    for t, x, y, v in path([70 + 20 * math.sin(i / 40) for i in range(960)], dt_s=15, start=(-20_000, -10_000), heading_deg=180):
        warm = 1 + 0.08 * (1 - math.exp(-t / 1200))
        samples.append(Sample(t, x, y, v, True, {"tire_pressure_kpa": {w: (230 - r * t / 3600) * warm for w, r in leak.items()}, "rpm": 2200.0}))
    truths = []
    for w in ("fr", "rl"):
        onset = first_time(samples, lambda s, w=w: s.values["tire_pressure_kpa"][w] < SPEC["tire_kpa"])  # type: ignore[index]
        truths.append(Truth(A.TIRE_PRESSURE_LOW, _ts(onset), f"tire_{w}"))
    vid = f"leak-{seed}"
    fixes = sense(rng, samples, vid, value_noise={"tire_pressure_kpa": 3.0})
    return Drive("two slow tire leaks", vid, tuple(link(rng, fixes)), tuple(truths), "+-3 kPa, 1/15 s")


def coolant_fan_cycling(seed: int, hot: bool) -> Drive:
    """Engine running on a hot day: coolant warms from 90 C and settles at 112 C (hot) or 100 C,
    the fan cycling it +-2.5 C every 3 min; +-0.5 C noise, a fix every 10 s for 1 h, standing. Truth (hot):
    above 110 C from the noise-free first crossing; the fan's dips are the same overheating; and
    (both) idling, the whole hour."""
    rng = random.Random(seed)
    top = 112.0 if hot else 100.0

    def temp(t: float) -> float:
        return 90 + (top - 90) * (1 - math.exp(-t / 600)) + 2.5 * math.sin(2 * math.pi * t / 180) * (1 - math.exp(-t / 600))

    samples = [Sample(t, 3000, -3000, 0.0, True, {"coolant_temp_c": temp(t), "rpm": 900.0}) for t in range(0, 3600, 10)]
    onset = first_time(samples, lambda s: s.values["coolant_temp_c"] > SPEC["coolant_c"])  # type: ignore[operator]
    vid = f"coolant-{'hot' if hot else 'ok'}-{seed}"
    fixes = sense(rng, samples, vid, value_noise={"coolant_temp_c": 0.5})
    truths = ((Truth(A.COOLANT_HIGH, _ts(onset), "coolant"),) if onset is not None else ()) + (Truth(A.IDLE, T0, None),)
    return Drive("coolant at 112 C, fan cycling" if hot else "coolant at 100 C, fan cycling", vid, tuple(link(rng, fixes)), truths,
                 "+-0.5 C, 1/10 s")


# -- geofences ----------------------------------------------------------------------------------

def parked_by_forbidden_zone(seed: int, ignition: bool) -> Drive:
    """Parked 8 m outside a forbidden zone's edge for 3 h, a fix every 10 s; the GPS wanders
    (6 m, correlated over 60 s: multipath among buildings). Truth: no zone entered; with the engine
    running, idling the whole time."""
    rng = random.Random(seed)
    x, y, r = FORBIDDEN
    samples = [Sample(t, x, y - r - 8, 0.0, True if ignition else False) for t in range(0, 10_800, 10)]
    vid = f"parked-{'on' if ignition else 'off'}-{seed}"
    fixes = sense(rng, samples, vid, gps_sigma_m=6.0, gps_tau_s=60)
    truths = (Truth(A.IDLE, T0, None),) if ignition else ()
    return Drive("parked 8 m from a forbidden zone" + (", engine idling" if ignition else ""), vid, tuple(link(rng, fixes)), truths,
                 "GPS 6 m / 60 s, 1/10 s")


def parked_by_a_corner(seed: int) -> Drive:
    """Parked 5 m off each side of a square forbidden zone's corner for 3 h, ignition off, GPS
    6 m / 60 s, a fix every 10 s: two wandering fixes on either side of the corner make a segment
    that clips it. Truth: nothing happened."""
    rng = random.Random(seed)
    x, y, side = YARD
    samples = [Sample(t, x + side + 5, y + side + 5, 0.0, False) for t in range(0, 10_800, 10)]
    vid = f"corner-{seed}"
    fixes = sense(rng, samples, vid, gps_sigma_m=6.0, gps_tau_s=60)
    return Drive("parked by a forbidden zone's corner", vid, tuple(link(rng, fixes)), (), "GPS 6 m / 60 s, 1/10 s")


def through_forbidden_zone(seed: int, jitter_ms: int) -> Drive:
    """Driving through a forbidden zone at 40 km/h (300 m inside), GPS 4 m, 1 Hz. Truth: enter
    and the violation at the edge crossing in, exit at the crossing out."""
    rng = random.Random(seed)
    x, y, r = FORBIDDEN
    samples = [Sample(t, px, py, v) for t, px, py, v in path([40.0] * 100, start=(x, y - r - 350))]
    (t_in, _), (t_out, _) = crossing_times(samples, _inside(FORBIDDEN))
    vid = f"through-{seed}-{jitter_ms}"
    fixes = sense(rng, samples, vid, gps_sigma_m=4.0, gps_tau_s=30)
    truths = (Truth(A.GEOFENCE_ENTER, _ts(t_in), "nogo"), Truth(A.GEOFENCE_INSIDE_FORBIDDEN, _ts(t_in), "nogo", _ts(t_out)),
              Truth(A.GEOFENCE_EXIT, _ts(t_out), "nogo"))
    msgs = link(rng, fixes, jitter_ms=jitter_ms, duplicate_p=0.05 if jitter_ms else 0)
    return Drive("through a forbidden zone at 40 km/h" + (", jittery link" if jitter_ms else ""), vid, tuple(msgs), truths,
                 "GPS 4 m, 1 Hz" + (f", link jitter {jitter_ms / 1000:g} s, 5 % duplicates" if jitter_ms else ""))


def along_the_edge(seed: int) -> Drive:
    """A road passing a forbidden zone 10 m outside its edge at 40 km/h, GPS 4 m, 1 Hz. Truth: nothing."""
    rng = random.Random(seed)
    x, y, r = FORBIDDEN
    samples = [Sample(t, px, py, v) for t, px, py, v in path([40.0] * 90, start=(x - 500, y + r + 10), heading_deg=90)]
    vid = f"edge-{seed}"
    fixes = sense(rng, samples, vid, gps_sigma_m=4.0, gps_tau_s=30)
    return Drive("along a forbidden zone, 10 m outside", vid, tuple(link(rng, fixes)), (), "GPS 4 m, 1 Hz")


# -- speed --------------------------------------------------------------------------------------

def school_zone(seed: int, jitter_ms: int) -> Drive:
    """Entering a 30 km/h school zone at 60 km/h and crossing it (300 m, 18 s). Truth: overspeed
    from the edge crossing in to the crossing out (the zone's limit applies from the crossing),
    enter and exit at the crossings."""
    rng = random.Random(seed)
    x, y, r = SCHOOL
    samples = [Sample(t, px, py, v) for t, px, py, v in path([60.0] * 60, start=(x - r - 250, y), heading_deg=90)]
    (t_in, _), (t_out, _) = crossing_times(samples, _inside(SCHOOL))
    vid = f"school-{seed}-{jitter_ms}"
    fixes = sense(rng, samples, vid, gps_sigma_m=4.0, gps_tau_s=30)
    msgs = link(rng, fixes, jitter_ms=jitter_ms, duplicate_p=0.05 if jitter_ms else 0, clock_glitch_p=0.02 if jitter_ms else 0)
    truths = (Truth(A.OVERSPEED, _ts(t_in), None, _ts(t_out)), Truth(A.GEOFENCE_ENTER, _ts(t_in), "school"),
              Truth(A.GEOFENCE_EXIT, _ts(t_out), "school"))
    return Drive("school zone (30) at 60 km/h" + (", jittery link" if jitter_ms else ""), vid, tuple(msgs), truths,
                 "GPS 4 m, speed 1 km/h, 1 Hz" + (f", jitter {jitter_ms / 1000:g} s, 5 % duplicates, 2 % clock +1 h" if jitter_ms else ""))


def overtaking(seed: int) -> Drive:
    """Cruising at 90 km/h, overtaking at 115 km/h for 40 s (limit 100), back to 90; speed jitter
    1 km/h. Truth: above 100 km/h while the true speed was."""
    rng = random.Random(seed)
    speeds = [90.0] * 30 + [90 + 2.5 * i for i in range(1, 11)] + [115.0] * 40 + [115 - 2.5 * i for i in range(1, 11)] + [90.0] * 30
    samples = [Sample(t, px, py, v) for t, px, py, v in path(speeds, start=(-30_000, 20_000), heading_deg=90)]
    onset = first_time(samples, lambda s: s.speed_kmh > 100)
    end = first_time([s for s in samples if s.t_s > (onset or 0)], lambda s: s.speed_kmh <= 100)
    vid = f"overtake-{seed}"
    fixes = sense(rng, samples, vid)
    return Drive("overtaking at 115 (limit 100)", vid, tuple(link(rng, fixes)), (Truth(A.OVERSPEED, _ts(onset), None, _ts(end)),),
                 "speed 1 km/h, 1 Hz")


def cruising_under_the_limit(seed: int) -> Drive:
    """20 min at 95 km/h (limit 100), speed jitter 1 km/h. Truth: nothing."""
    rng = random.Random(seed)
    samples = [Sample(t, px, py, v) for t, px, py, v in path([95.0] * 1200, start=(-30_000, 25_000), heading_deg=90)]
    vid = f"cruise-{seed}"
    return Drive("cruising at 95 (limit 100)", vid, tuple(link(rng, sense(rng, samples, vid))), (), "speed 1 km/h, 1 Hz")


# -- harsh driving ------------------------------------------------------------------------------

def hard_brake(seed: int, jitter_ms: int) -> Drive:
    """60 km/h, then an emergency stop at 6 m/s^2 (2.8 s), GPS speed jitter 0.5 km/h, 1 Hz.
    Truth: harsh braking from the moment the deceleration began."""
    rng = random.Random(seed)
    speeds = [60.0] * 30 + [max(0.0, 60 - 6 * 3.6 * i) for i in range(1, 4)] + [0.0] * 30
    samples = [Sample(t, px, py, v) for t, px, py, v in path(speeds, start=(-40_000, 0))]
    vid = f"brake-{seed}-{jitter_ms}"
    fixes = sense(rng, samples, vid, speed_noise_kmh=0.5)
    msgs = link(rng, fixes, jitter_ms=jitter_ms, duplicate_p=0.05 if jitter_ms else 0, clock_glitch_p=0.02 if jitter_ms else 0)
    truths = (Truth(A.HARSH_BRAKING, _ts(29.0), None, _ts(33.0)),)
    return Drive("emergency stop at 6 m/s^2" + (", jittery link" if jitter_ms else ""), vid, tuple(msgs), truths,
                 "speed 0.5 km/h, 1 Hz" + (f", jitter {jitter_ms / 1000:g} s, 5 % duplicates, 2 % clock +1 h" if jitter_ms else ""))


def gentle_stops(seed: int) -> Drive:
    """Town driving: 50 km/h and five stops at 2 m/s^2, speed jitter 0.5 km/h. Truth: nothing harsh."""
    rng = random.Random(seed)
    speeds: list[float] = []
    for _ in range(5):
        speeds += [50.0] * 40 + [max(0.0, 50 - 2 * 3.6 * i) for i in range(1, 8)] + [0.0] * 20 + [min(50.0, 1.5 * 3.6 * i) for i in range(1, 11)]
    samples = [Sample(t, px, py, v) for t, px, py, v in path(speeds, start=(-45_000, 0))]
    vid = f"gentle-{seed}"
    return Drive("town driving, gentle stops", vid, tuple(link(rng, sense(rng, samples, vid, speed_noise_kmh=0.5))), (), "speed 0.5 km/h, 1 Hz")


# -- idling ------------------------------------------------------------------------------------

def _stops(speeds: list[float]) -> list[tuple[float, float]]:
    """(start, end) of each standstill of a 5 s speed profile (end = the first moving sample after it)."""
    out, start = [], None
    for i, v in enumerate(speeds):
        if v == 0 and start is None:
            start = i * 5.0
        elif v > 0 and start is not None:
            out.append((start, i * 5.0))
            start = None
    return out


def kerb_idle(seed: int, engine_off: bool) -> Drive:
    """Drives up, stands 10 min with the engine running (a fix every 5 s; a standing receiver's speed
    reads |N(0, 1 km/h)|, so now and then over the 2 km/h of 'not moving'), then drives off - or
    switches the engine off and stays. Truth: idling from the stop to the drive-off / engine off
    (an incident: the rules need idle_min_s of it)."""
    rng = random.Random(seed)
    speeds = [40.0] * 12 + [0.0] * 120 + ([0.0] * 12 if engine_off else [40.0] * 12)
    ignition = [not (engine_off and i >= 132) for i in range(len(speeds))]
    samples = [Sample(t, px, py, v, ignition[i]) for i, (t, px, py, v) in
               enumerate(path(speeds, dt_s=5, start=(-50_000, 5_000), heading_deg=90))]
    vid = f"kerb-{'off' if engine_off else 'drive'}-{seed}"
    fixes = sense(rng, samples, vid, standstill_speed_kmh=1.0)
    truth = Truth(A.IDLE, _ts(60.0), None, _ts(660.0))
    return Drive("idling 10 min at the kerb, " + ("then engine off" if engine_off else "then drives off"), vid,
                 tuple(link(rng, fixes)), (truth,), "standstill speed |N(0, 1 km/h)|, 1/5 s")


def stop_and_go(seed: int) -> Drive:
    """Rush hour: six stops of 2-4 min at lights and in a jam, 30-60 s of driving between them,
    engine running throughout, a fix every 5 s. Truth: no idling of idle_min_s anywhere."""
    rng = random.Random(seed)
    speeds: list[float] = [30.0] * 12
    for _ in range(6):
        speeds += [0.0] * rng.randint(24, 48) + [20.0 + rng.uniform(0, 15)] * rng.randint(6, 12)
    samples = [Sample(t, px, py, v, True) for t, px, py, v in path(speeds, dt_s=5, start=(-55_000, 5_000), heading_deg=90)]
    assert all(end - start < 300 for start, end in _stops(speeds))
    vid = f"stopgo-{seed}"
    return Drive("stop and go, six stops under 5 min", vid, tuple(link(rng, sense(rng, samples, vid, standstill_speed_kmh=1.0))), (),
                 "standstill speed |N(0, 1 km/h)|, 1/5 s")


# -- diagnostic trouble codes ------------------------------------------------------------------

def intermittent_dtc(seed: int) -> Drive:
    """2 h of driving, a fix every 10 s; a misfire from 30 min until a repair at 90 min, its code
    P0301 in the device's list - which the device leaves out of about a third of the fixes (the
    contract reads a missing list as empty). Truth: one trouble code, from the misfire to the repair."""
    rng = random.Random(seed)
    samples = []
    for t, x, y, v in path([50.0] * 720, dt_s=10, start=(-60_000, 10_000), heading_deg=0):
        active = 1800 <= t < 5400
        samples.append(Sample(t, x, y, v, True, {"dtc": ["P0301"] if active and rng.random() > 0.35 else []}))
    vid = f"dtc-{seed}"
    fixes = sense(rng, samples, vid)
    return Drive("misfire code, left out of a third of the fixes", vid, tuple(link(rng, fixes)),
                 (Truth(A.DTC, _ts(1800.0), None, _ts(5400.0)),), "code in ~2/3 of the fixes while active, 1/10 s")


SEEDS = (1, 2, 3)


def drives() -> list[Drive]:
    """Every labelled drive of the suite, for every seed."""
    out: list[Drive] = []
    for s in SEEDS:
        out += [battery_drain(s), battery_hovering(s), tire_leaks(s), coolant_fan_cycling(s, True), coolant_fan_cycling(s, False),
                parked_by_forbidden_zone(s, False), parked_by_forbidden_zone(s, True), parked_by_a_corner(s), through_forbidden_zone(s, 0),
                through_forbidden_zone(s, 4000), along_the_edge(s), school_zone(s, 0), school_zone(s, 4000), overtaking(s),
                cruising_under_the_limit(s), hard_brake(s, 0), hard_brake(s, 4000), gentle_stops(s), kerb_idle(s, False),
                kerb_idle(s, True), stop_and_go(s), intermittent_dtc(s)]
    return out
