"""Drives built from physics: a vehicle's true state over time, then what its sensors, GPS and
link make of it. Pure and seeded: the same seed gives the same messages.

A drive is built in three layers, so the truth never depends on a rule's threshold:
- **truth**: the noise-free signal (speed profile integrated to a path, a battery draining, a
  tire leaking and warming while it drives) and the labels derived from it (the moment the
  physical value passes its specification, the moment the path crosses a zone's edge);
- **sensors**: what the device reports - GPS error as a first-order Gauss-Markov process
  (correlated over tens of seconds, as multipath is), speed jitter, value noise;
- **link**: when each message arrives - network delay jitter, QoS 1 duplicates, a device clock
  that jumps ahead.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from contracts.telemetry import Telemetry, Wheels
from rules.fleet.geo import LocalProjection

ORIGIN = LocalProjection(lat0=52.52, lon0=13.40)
T0 = 1_763_978_400_000  # Monday 2025-11-24 10:00 UTC


@dataclass(frozen=True)
class Truth:
    """One thing that really happened, labelled from the physics: an alert type (and its key:
    a wheel, a zone) with the event time it began and, if it ended, when."""

    type: str
    onset_ts: int
    key: str | None = None
    end_ts: int | None = None


@dataclass(frozen=True)
class Sample:
    """The true state at one instant (metres east / north of ORIGIN)."""

    t_s: float
    x: float
    y: float
    speed_kmh: float
    ignition: bool | None = True
    values: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Drive:
    name: str
    vehicle_id: str
    messages: tuple[tuple[Telemetry, int], ...]  # (fix, arrival ms) in arrival order
    truths: tuple[Truth, ...]
    conditions: str  # what the sensors and the link did, for the table


def path(speeds_kmh: Sequence[float], dt_s: float = 1.0, start: tuple[float, float] = (0.0, 0.0),
         heading_deg: float = 0.0) -> list[tuple[float, float, float, float]]:
    """(t_s, x, y, speed) of a vehicle following a speed profile on a straight line."""
    h = math.radians(heading_deg)
    x, y, out = start[0], start[1], []
    for i, v in enumerate(speeds_kmh):
        out.append((i * dt_s, x, y, v))
        x += math.sin(h) * v / 3.6 * dt_s
        y += math.cos(h) * v / 3.6 * dt_s
    return out


def gauss_markov(rng: random.Random, n: int, sigma: float, tau_s: float, dt_s: float) -> list[float]:
    """A stationary first-order Gauss-Markov error series (std ``sigma``, correlation time ``tau_s``)."""
    a = math.exp(-dt_s / tau_s)
    e, out = rng.gauss(0, sigma), []
    for _ in range(n):
        out.append(e)
        e = a * e + math.sqrt(1 - a * a) * rng.gauss(0, sigma)
    return out


def crossing_times(samples: Sequence[Sample], inside: Callable[[float, float], bool]) -> list[tuple[float, bool]]:
    """(t_s, now_inside) where the true path crosses a zone's edge, interpolated to 10 ms."""
    out = []
    for a, b in pairwise(samples):
        ia, ib = inside(a.x, a.y), inside(b.x, b.y)
        if ia == ib:
            continue
        lo, hi = 0.0, 1.0
        for _ in range(30):
            mid = (lo + hi) / 2
            if inside(a.x + (b.x - a.x) * mid, a.y + (b.y - a.y) * mid) == ia:
                lo = mid
            else:
                hi = mid
        out.append((a.t_s + (b.t_s - a.t_s) * hi, ib))
    return out


def first_time(samples: Sequence[Sample], cond: Callable[[Sample], bool]) -> float | None:
    """The first true instant a condition holds (sample resolution)."""
    return next((s.t_s for s in samples if cond(s)), None)


def sense(rng: random.Random, samples: Sequence[Sample], vehicle_id: str, gps_sigma_m: float = 4.0, gps_tau_s: float = 60.0,
          speed_noise_kmh: float = 1.0, value_noise: dict[str, float] | None = None, standstill_speed_kmh: float = 0.6,
          extra: Callable[[Sample], dict[str, object]] | None = None) -> list[Telemetry]:
    """What the device reports: GPS error (Gauss-Markov per axis), GPS speed jitter (a parked
    receiver still reads a little speed), uniform noise on the device values."""
    dt = samples[1].t_s - samples[0].t_s if len(samples) > 1 else 1.0
    ex = gauss_markov(rng, len(samples), gps_sigma_m, gps_tau_s, dt)
    ey = gauss_markov(rng, len(samples), gps_sigma_m, gps_tau_s, dt)
    noise = value_noise or {}
    out = []
    for s, dx, dy in zip(samples, ex, ey, strict=True):
        lon, lat = ORIGIN.to_lonlat(s.x + dx, s.y + dy)
        speed = s.speed_kmh + rng.gauss(0, speed_noise_kmh) if s.speed_kmh > 0 else abs(rng.gauss(0, standstill_speed_kmh))
        values: dict[str, object] = {}
        for k, v in s.values.items():
            if isinstance(v, float) and k in noise:
                values[k] = round(v + rng.uniform(-noise[k], noise[k]), 3)
            elif isinstance(v, dict):
                values[k] = Wheels(**{w: round(p + rng.uniform(-noise.get(k, 0), noise.get(k, 0)), 1) for w, p in v.items()})
            else:
                values[k] = v
        if extra:
            values.update(extra(s))
        out.append(Telemetry(vehicle_id=vehicle_id, ts_ms=T0 + int(round(s.t_s * 1000)), lat=lat, lon=lon,
                             speed_kmh=round(max(0.0, speed), 2), ignition=s.ignition, **values))
    return out


def link(rng: random.Random, fixes: Sequence[Telemetry], base_delay_ms: int = 300, jitter_ms: int = 0, duplicate_p: float = 0.0,
         clock_glitch_p: float = 0.0) -> list[tuple[Telemetry, int]]:
    """Arrivals: base delay + uniform jitter (so fixes overtake each other), QoS 1 duplicates
    (the same message again a little later), and a device clock that sometimes stamps a fix an
    hour ahead (the ingest passes it; the rules must not be fooled)."""
    out = []
    for f in fixes:
        arrival = f.ts_ms + base_delay_ms + (rng.randint(0, jitter_ms) if jitter_ms else 0)
        if clock_glitch_p and rng.random() < clock_glitch_p:
            f = f.model_copy(update={"ts_ms": f.ts_ms + 3_600_000})
        out.append((f, arrival))
        if duplicate_p and rng.random() < duplicate_p:
            out.append((f, arrival + rng.randint(50, 3000)))
    return sorted(out, key=lambda m: m[1])
