"""Diagnostic trouble codes as incidents: one per code, raised when it appears, cleared when it is gone.

A device repeats active codes in every fix, and some devices leave the list out of some fixes
(the contract reads a missing list as empty), so one fix without a code does not clear it: the
incident clears only when the code has been missing for ``dtc_clear_s`` and at least
``range_min_samples`` fixes; reported again within that, the incident goes on (no new record).
A code that returns after its incident cleared is a new incident. A code seen again after
``dtc_realert_after_s`` without any fix in between (the device was silent: it may have been
repaired and failed again) clears the old incident and raises a new one.

Ids: the raise's id is the code's first fix (vehicle, ``dtc``, that time, the code), as before
incidents existed; its clear's is the same with ``cleared``; both are event-time only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings
from .dtc_codes import describe, is_severe


@dataclass(frozen=True)
class DtcIncident:
    """One open code: since when, and since when it is missing from the reported list."""

    code: str
    since_ts: int
    severity: A.Severity
    missing_since_ts: int | None = None
    missing_count: int = 0


@dataclass(frozen=True)
class DtcState:
    last_seen: Mapping[str, int] = field(default_factory=dict)  # code -> event time last reported
    open: tuple[DtcIncident, ...] = ()  # a plain default: states recovered from before incidents read as none open

    def active(self, now_ms: int, cfg: FleetSettings) -> list[str]:
        """Codes reported within the re-alert window (for the health status)."""
        return sorted(c for c, ts in self.last_seen.items() if now_ms - ts < cfg.dtc_realert_after_s * 1000)


def _incident_id(vehicle_id: str, inc: DtcIncident) -> str:
    return A.make_alert_id(vehicle_id, A.DTC, inc.since_ts, None, inc.code)


def _raise(fix: Telemetry, fleet_id: str | None, code: str) -> tuple[DtcIncident, A.Alert]:
    text = describe(code)
    severity: A.Severity = "critical" if is_severe(code) else "warning"
    alert = A.make_alert(
        vehicle_id=fix.vehicle_id, fleet_id=fleet_id, type=A.DTC, severity=severity,
        ts=fix.ts_ms, episode_ts=fix.ts_ms, id_parts=(code,), lat=fix.lat, lon=fix.lon,
        message=f"{fix.vehicle_id} reports {code}: {text}", details={"code": code, "description": text},
    )
    return DtcIncident(code, fix.ts_ms, severity), alert


def _clear(fix: Telemetry, fleet_id: str | None, inc: DtcIncident, reason: str) -> A.Alert:
    end = inc.missing_since_ts if inc.missing_since_ts is not None else fix.ts_ms
    return A.make_alert(
        vehicle_id=fix.vehicle_id, fleet_id=fleet_id, type=A.DTC, severity="info", ts=fix.ts_ms, episode_ts=inc.since_ts,
        id_parts=(inc.code, "cleared"), lat=fix.lat, lon=fix.lon,
        message=f"{fix.vehicle_id}: {inc.code} is no longer reported",
        details={"code": inc.code, "description": describe(inc.code), "start_ts": inc.since_ts, "end_ts": end,
                 "reason": reason, "incident_severity": inc.severity},
        state="cleared", incident_id=_incident_id(fix.vehicle_id, inc),
    )


def step(state: DtcState, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings) -> tuple[DtcState, list[A.Alert]]:
    """Feed one in-order fix; raise each new code, clear each code missing long enough."""
    codes = set(fix.dtc)
    if not codes and not state.open:
        return state, []
    ts = fix.ts_ms
    seen = dict(state.last_seen)
    open_ = {inc.code: inc for inc in state.open}
    out: list[A.Alert] = []
    for code in sorted(codes):
        inc = open_.get(code)
        prev = seen.get(code)
        if inc is not None and prev is not None and ts - prev >= cfg.dtc_realert_after_s * 1000:
            out.append(_clear(fix, fleet_id, replace(inc, missing_since_ts=prev), "not_reported"))
            inc = None
        if inc is None:
            open_[code], alert = _raise(fix, fleet_id, code)
            out.append(alert)
        else:
            open_[code] = replace(inc, missing_since_ts=None, missing_count=0)  # back within the hold-off: goes on
        seen[code] = ts
    for code, inc in sorted(open_.items()):
        if code in codes:
            continue
        since = inc.missing_since_ts if inc.missing_since_ts is not None else ts
        inc = replace(inc, missing_since_ts=since, missing_count=inc.missing_count + 1)
        if inc.missing_count >= cfg.range_min_samples and ts - since >= cfg.dtc_clear_s * 1000:
            out.append(_clear(fix, fleet_id, inc, "gone"))
            del open_[code]
        else:
            open_[code] = inc
    return DtcState(seen, tuple(open_[c] for c in sorted(open_))), out
