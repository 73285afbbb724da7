"""Device alarms (Traccar's alarm handler): a tracker's own SOS, tow, power-cut... reports.

The contract carries the alarm as the device sent it (``Telemetry.alarm``); this rule maps it
to a documented kind - ``sos``, ``tow``, ``power_cut``, ``tamper``, ``jamming``,
``low_device_battery``, ``accident``, ``door`` - matching case, ``_``/``-``/space and a few
common vendor spellings (``powerCut``, ``lowBattery``, ``crash``); anything else is ``other``
with the raw string kept. One ``device_alarm`` per alarm episode: a device repeating the same
alarm in consecutive fixes raises it once; a fix without it ends the episode.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import alert as A
from contracts.telemetry import Telemetry

from .config import FleetSettings

KINDS: tuple[str, ...] = ("sos", "tow", "power_cut", "tamper", "jamming", "low_device_battery", "accident", "door")
OTHER = "other"
CRITICAL_KINDS = frozenset({"sos", "accident"})
INFO_KINDS = frozenset({"door"})  # a door opening is routine on a delivery van: recorded, not a warning
# Vendor spellings (separators removed, lower case) -> kind.
_ALIASES = {k.replace("_", ""): k for k in KINDS} | {
    "panic": "sos", "emergency": "sos", "towing": "tow", "powerloss": "power_cut", "poweroff": "power_cut",
    "externalpowercut": "power_cut", "tampering": "tamper", "removing": "tamper", "gsmjamming": "jamming",
    "gpsjamming": "jamming", "lowbattery": "low_device_battery", "lowpower": "low_device_battery",
    "crash": "accident", "collision": "accident", "dooropen": "door",
}


def kind_of(raw: str) -> str:
    """The documented kind of a reported alarm, ``other`` when unknown."""
    key = "".join(ch for ch in raw.lower() if ch.isalnum())
    return _ALIASES.get(key, OTHER)


@dataclass(frozen=True)
class AlarmState:
    last: str | None = None  # raw alarm of the previous fix (None: it had none)


def step(state: AlarmState, fix: Telemetry, fleet_id: str | None, cfg: FleetSettings) -> tuple[AlarmState, list[A.Alert]]:
    """Feed one in-order fix; one alert when an alarm starts (or changes)."""
    raw = fix.alarm
    if raw is None or raw == state.last:
        return (state if raw == state.last else AlarmState()), []
    kind, vid = kind_of(raw), fix.vehicle_id
    severity: A.Severity = "critical" if kind in CRITICAL_KINDS else "info" if kind in INFO_KINDS else "warning"
    label = kind.replace("_", " ") if kind != OTHER else f"'{raw}'"
    alert = A.make_alert(
        vehicle_id=vid, fleet_id=fleet_id, type=A.DEVICE_ALARM, severity=severity, ts=fix.ts_ms, episode_ts=fix.ts_ms,
        id_parts=(kind, raw), lat=fix.lat, lon=fix.lon, message=f"{vid} device alarm: {label}",
        details={"kind": kind, "raw": raw},
    )
    return AlarmState(raw), [alert]
