"""New diagnostic trouble code = one alert, with a readable description.

A device repeats active codes in every fix, and some devices omit the list in between, so an
empty list does not mean "cleared". A code alerts when it was never seen or not seen for
``dtc_realert_after_s`` (it was repaired and came back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings
from .dtc_codes import describe, is_severe


@dataclass(frozen=True)
class DtcState:
    last_seen: Mapping[str, int] = field(default_factory=dict)  # code -> event time last reported

    def active(self, now_ms: int, cfg: FleetSettings) -> list[str]:
        """Codes reported within the re-alert window (for the health status)."""
        return sorted(c for c, ts in self.last_seen.items() if now_ms - ts < cfg.dtc_realert_after_s * 1000)


def step(state: DtcState, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings) -> tuple[DtcState, list[A.Alert]]:
    """Feed one in-order fix; alert for each new code."""
    if not fix.dtc:
        return state, []
    seen = dict(state.last_seen)
    out: list[A.Alert] = []
    for code in sorted(set(fix.dtc)):
        prev = seen.get(code)
        if prev is None or fix.ts_ms - prev >= cfg.dtc_realert_after_s * 1000:
            text = describe(code)
            out.append(A.make_alert(
                vehicle_id=fix.vehicle_id, fleet_id=fleet_id, type=A.DTC, severity="critical" if is_severe(code) else "warning",
                ts=fix.ts_ms, episode_ts=fix.ts_ms, id_parts=(code,), lat=fix.lat, lon=fix.lon,
                message=f"{fix.vehicle_id} reports {code}: {text}", details={"code": code, "description": text},
            ))
        seen[code] = fix.ts_ms
    return DtcState(seen), out
