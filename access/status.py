"""A vehicle's status on the map, from its last fix and its recent alerts (pure, no I/O).

Precedence: offline (no fix for ``offline_after_s``) > alerting (a warning or critical alert
in the alerting window) > moving (speed above ``moving_kmh``) > idle.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pandas as pd

STATUSES = ("moving", "idle", "offline", "alerting")
STATUS_COLORS = {"moving": "#2ca02c", "idle": "#1f77b4", "offline": "#7f7f7f", "alerting": "#d62728"}


def vehicle_status(fix_time: datetime, speed_kmh: float | None, alerts: int, now: datetime,
                   offline_after_s: float, moving_kmh: float) -> str:
    """One of STATUSES."""
    if (now - fix_time).total_seconds() > offline_after_s:
        return "offline"
    if alerts > 0:
        return "alerting"
    if speed_kmh is not None and not pd.isna(speed_kmh) and float(speed_kmh) > moving_kmh:
        return "moving"
    return "idle"


def with_status(positions: pd.DataFrame, alert_counts: Mapping[str, int], now: datetime,
                offline_after_s: float, moving_kmh: float) -> pd.DataFrame:
    """``positions`` plus ``status``, ``alerts`` and ``age_s`` columns."""
    out = positions.copy()
    if out.empty:
        return out.assign(status=pd.Series(dtype=str), alerts=pd.Series(dtype=int), age_s=pd.Series(dtype=float))
    out["alerts"] = [int(alert_counts.get(v, 0)) for v in out["vehicle_id"]]
    out["age_s"] = [(now - t).total_seconds() for t in pd.to_datetime(out["time"], utc=True)]
    out["status"] = [vehicle_status(t, s, a, now, offline_after_s, moving_kmh)
                     for t, s, a in zip(pd.to_datetime(out["time"], utc=True), out["speed_kmh"], out["alerts"], strict=True)]
    return out
