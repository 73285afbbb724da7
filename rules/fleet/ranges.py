"""Device-reported values out of range: coolant, battery, tires, oil life, rpm - as incidents.

``bands`` rates each reported value of one fix (context matters: a battery at 12.3 V is
fine with the engine off and a charging fault with it running). ``step`` turns ratings into
incidents, one per value and alert type, so a value hovering at its limit is one incident,
not one per crossing:

- **raise** after ``range_min_samples`` consecutive out-of-range fixes (one noisy reading is
  not an alert); ``state="raised"``;
- **escalate** once, warning -> critical, after as many consecutive critical fixes;
- **clear** only when the value is back past the *clear threshold* (the raise threshold moved
  into range by the value's hysteresis, e.g. battery 12.2 V + 0.2 V = 12.4 V) for at least
  ``range_clear_s`` and ``range_min_samples`` fixes. Until then the incident stays open: a
  reading out of range again within that hold-off extends it, raising nothing new.

Every record of an incident carries its ``incident_id`` (the id of the raising alert, so it is
the same under replay). A change of context (engine started under a ``battery_low`` incident)
counts as back in range for the old type. A value the fix does not report leaves its incident
as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings

WHEELS = {"fl": "front left", "fr": "front right", "rl": "rear left", "rr": "rear right"}
_TIRES = tuple((wheel, f"tire_{wheel}", f"{label} tire pressure (kPa)") for wheel, label in WHEELS.items())  # built once, not per fix


@dataclass(frozen=True)
class Rating:
    key: str  # what is rated: coolant, battery, tire_fl, ...
    type: str | None  # alert type, None = in range
    severity: A.Severity = "warning"
    value: float = 0.0
    threshold: float = 0.0
    what: str = ""
    family: str = ""  # the alert type this band belongs to, also when in range
    clear: bool = True  # past the clear threshold (raise threshold moved into range by the hysteresis)


def engine_running(fix: Telemetry) -> bool | None:
    """rpm says it best (ignition on with the engine off does not charge); else ignition."""
    if fix.rpm is not None:
        return fix.rpm > 300
    return fix.ignition


def _band(key: str, type_: str, value: float, lo: float | None, hi: float | None, crit_lo: float | None = None,
          crit_hi: float | None = None, what: str = "", hyst: float = 0.0) -> Rating:
    low_edge = lo if lo is not None else crit_lo
    high_edge = hi if hi is not None else crit_hi
    clear = (low_edge is None or value >= low_edge + hyst) and (high_edge is None or value <= high_edge - hyst)
    rated: str | None = type_
    severity: A.Severity = "warning"
    if crit_lo is not None and value < crit_lo:
        severity, threshold = "critical", crit_lo
    elif crit_hi is not None and value > crit_hi:
        severity, threshold = "critical", crit_hi
    elif lo is not None and value < lo:
        threshold = lo
    elif hi is not None and value > hi:
        threshold = hi
    else:
        rated, threshold = None, 0.0
    # ``Rating(...)`` without the frozen dataclass's ``__init__`` (a dozen per fix: most of the rule's cost)
    r = object.__new__(Rating)
    object.__setattr__(r, "__dict__", {"key": key, "type": rated, "severity": severity, "value": value, "threshold": threshold,
                                       "what": what, "family": type_, "clear": clear})
    return r


def bands(fix: Telemetry, cfg: FleetSettings) -> list[Rating]:
    """Every band of the values this fix reports: one per value, two (low, high) per tire."""
    out: list[Rating] = []
    if fix.coolant_temp_c is not None:
        out.append(_band("coolant", A.COOLANT_HIGH, fix.coolant_temp_c, None, cfg.coolant_high_c, crit_hi=cfg.coolant_critical_c,
                         what="coolant temperature (C)", hyst=cfg.coolant_hysteresis_c))
    if fix.battery_v is not None:
        running, hyst = engine_running(fix), cfg.battery_hysteresis_v
        if running:
            out.append(_band("battery", A.CHARGING_FAULT, fix.battery_v, cfg.battery_charging_low_v, cfg.battery_charging_high_v,
                             what="battery voltage while running (V)", hyst=hyst))
        elif running is False:
            out.append(_band("battery", A.BATTERY_LOW, fix.battery_v, cfg.battery_off_low_v, None, crit_lo=cfg.battery_off_critical_v,
                             what="battery voltage with engine off (V)", hyst=hyst))
        else:
            out.append(_band("battery", A.BATTERY_LOW, fix.battery_v, None, None, crit_lo=cfg.battery_off_critical_v,
                             what="battery voltage (V)", hyst=hyst))
    tires = fix.tire_pressure_kpa
    if tires is not None:
        low, critical, high, hyst = cfg.tire_low_kpa, cfg.tire_critical_kpa, cfg.tire_high_kpa, cfg.tire_hysteresis_kpa
        for wheel, key, what in _TIRES:
            kpa = getattr(tires, wheel)
            if kpa is None:
                continue
            out.append(_band(key, A.TIRE_PRESSURE_LOW, kpa, low, None, critical, None, what, hyst))
            out.append(_band(key, A.TIRE_PRESSURE_HIGH, kpa, None, high, None, None, what, hyst))
    if fix.oil_life_pct is not None:
        out.append(_band("oil_life", A.OIL_LIFE_LOW, fix.oil_life_pct, cfg.oil_life_low_pct, None, crit_lo=cfg.oil_life_critical_pct,
                         what="oil life (%)", hyst=cfg.oil_life_hysteresis_pct))
    if fix.rpm is not None:
        out.append(_band("rpm", A.RPM_HIGH, fix.rpm, None, cfg.rpm_high, what="engine speed (rpm)", hyst=cfg.rpm_hysteresis))
    return out


def evaluate(fix: Telemetry, cfg: FleetSettings, rated: list[Rating] | None = None) -> list[Rating]:
    """One rating per value this fix reports (health): a tire's out-of-range band, else its low band.
    ``rated``: ``bands(fix, cfg)`` when the caller has it already (the engine rates a fix once)."""
    by_key: dict[str, Rating] = {}
    for r in bands(fix, cfg) if rated is None else rated:
        if r.key not in by_key or (by_key[r.key].type is None and r.type is not None):
            by_key[r.key] = r
    return list(by_key.values())


@dataclass(frozen=True)
class Episode:
    """One value's candidate or open incident of one type."""

    type: str
    since_ts: int  # first out-of-range fix of the run that raised: the ids derive from it
    count: int  # consecutive out-of-range fixes (until raised)
    alerted: A.Severity | None = None  # None = candidate, not raised yet
    incident_id: str | None = None
    critical_count: int = 0  # consecutive critical fixes (for the escalation)
    clear_since_ts: int | None = None  # first fix of the current run past the clear threshold
    clear_count: int = 0


@dataclass(frozen=True)
class RangeState:
    episodes: Mapping[str, Episode] = field(default_factory=dict)  # "<key>|<type>" -> episode


def _alert(fix: Telemetry, fleet_id: str | None, r: Rating, ep: Episode, severity: A.Severity, state: A.IncidentState,
           id_part: str, message: str) -> A.Alert:
    details: dict[str, object] = {"key": r.key, "start_ts": ep.since_ts}
    if state == "cleared":
        details["incident_severity"] = ep.alerted  # the highest it reached, for the notifier's filters
    return A.make_alert(
        vehicle_id=fix.vehicle_id, fleet_id=fleet_id, type=ep.type, severity=severity, ts=fix.ts_ms, episode_ts=ep.since_ts,
        id_parts=(r.key, id_part), value=r.value, threshold=r.threshold, lat=fix.lat, lon=fix.lon, message=message,
        details=details, state=state, incident_id=ep.incident_id,
    )


def _out_of_range(ep: Episode | None, r: Rating, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings) -> tuple[Episode, list[A.Alert]]:
    assert r.type is not None
    ep = ep or Episode(r.type, fix.ts_ms, 0)
    critical = ep.critical_count + 1 if r.severity == "critical" else 0
    ep = replace(ep, count=ep.count + 1, critical_count=critical, clear_since_ts=None, clear_count=0)
    n = cfg.range_min_samples
    text = f"{fix.vehicle_id}: {r.what} is {r.value:g}, limit {r.threshold:g}"
    if ep.alerted is None and ep.count >= n:
        severity: A.Severity = "critical" if critical >= n else "warning"
        incident = A.make_alert_id(fix.vehicle_id, ep.type, ep.since_ts, None, r.key, severity)
        ep = replace(ep, alerted=severity, incident_id=incident)
        return ep, [_alert(fix, fleet_id, r, ep, severity, "raised", severity, text)]
    if ep.alerted == "warning" and critical >= n:
        ep = replace(ep, alerted="critical")
        return ep, [_alert(fix, fleet_id, r, ep, "critical", "escalated", "critical", text)]
    return ep, []


def _back_in_range(ep: Episode, r: Rating, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings) -> tuple[Episode | None, list[A.Alert]]:
    """A reading in range, or rated for another type (context change): toward the clear."""
    if ep.alerted is None:
        return None, []  # a candidate ends at the first reading in range
    if not (r.clear or r.family != ep.type):
        return replace(ep, critical_count=0, clear_since_ts=None, clear_count=0), []  # within the hysteresis
    since = fix.ts_ms if ep.clear_since_ts is None else ep.clear_since_ts
    ep = replace(ep, critical_count=0, clear_since_ts=since, clear_count=ep.clear_count + 1)
    if ep.clear_count < cfg.range_min_samples or fix.ts_ms - since < cfg.range_clear_s * 1000:
        return ep, []
    text = f"{fix.vehicle_id}: {r.what} is back to {r.value:g}"
    return None, [_alert(fix, fleet_id, r, ep, "info", "cleared", "cleared", text)]


def step(state: RangeState, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings,
         rated: list[Rating] | None = None) -> tuple[RangeState, list[A.Alert]]:
    """Feed one in-order fix; return new state and the incident records it raised, escalated or cleared.
    ``rated``: ``bands(fix, cfg)`` when the caller has it already (the engine rates a fix once)."""
    ratings = bands(fix, cfg) if rated is None else rated
    if not state.episodes and all(r.type is None for r in ratings):
        return state, []  # every value in range and no incident open (most fixes): nothing to do
    episodes = dict(state.episodes)
    out: list[A.Alert] = []
    rated_types = {(r.key, r.family) for r in ratings}
    by_key = {r.key: r for r in ratings}
    for r in ratings:
        slot = f"{r.key}|{r.family}"
        ep: Episode | None = episodes.get(slot)
        if r.type is not None:
            ep, alerts = _out_of_range(ep, r, fix, fleet_id, cfg)
        elif ep is not None:
            ep, alerts = _back_in_range(ep, r, fix, fleet_id, cfg)
        else:
            continue
        out += alerts
        if ep is None:
            episodes.pop(slot, None)
        else:
            episodes[slot] = ep
    for slot, ep in list(episodes.items()):  # the key was rated under another type: context changed
        key = slot.split("|", 1)[0]
        if key in by_key and (key, ep.type) not in rated_types:
            new, alerts = _back_in_range(ep, by_key[key], fix, fleet_id, cfg)
            out += alerts
            if new is None:
                episodes.pop(slot)
            else:
                episodes[slot] = new
    return RangeState(episodes), out
