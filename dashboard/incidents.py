"""Incidents from the alert records, with their acknowledgements; unacknowledged critical first.

Pure (pandas only): ``incidents(alerts, acks)`` groups the ``alerts`` rows (as ``data.alerts``
returns them) by ``incident_id`` - a row without one (written before incidents existed) is an
incident of its own - and gives one row per incident: its vehicle and type, the highest
severity it reached, its latest state (raised / escalated / cleared), when it was raised and
last changed, the latest message, and who acknowledged it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from contracts.ack import Ack

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
COLUMNS = ["incident_id", "vehicle_id", "type", "severity", "state", "raised", "last", "message", "acked_by", "acked_at"]


def incidents(alerts: pd.DataFrame, acks: Mapping[str, Ack]) -> pd.DataFrame:
    """One row per incident: open ones first, unacknowledged critical first, then newest first."""
    if alerts.empty:
        return pd.DataFrame(columns=COLUMNS + ["open"])
    df = alerts.copy()
    ids = df["incident_id"] if "incident_id" in df else pd.Series([None] * len(df), index=df.index)
    df["incident_id"] = ids.where(ids.notna() & (ids.astype(str) != ""), df["alert_id"])
    states = df["state"] if "state" in df else pd.Series([None] * len(df), index=df.index)
    df["state"] = states.fillna("raised")
    df["rank"] = df["severity"].map(SEVERITY_RANK).fillna(2)
    rows = []
    for iid, g in df.sort_values("time").groupby("incident_id", sort=False):
        last = g.iloc[-1]
        raising = g[g["state"] != "cleared"]
        first = raising.iloc[0] if not raising.empty else g.iloc[0]
        top = raising["rank"].max() if not raising.empty else g["rank"].max()
        ack = acks.get(str(iid))
        rows.append({"incident_id": iid, "vehicle_id": first["vehicle_id"], "type": first["type"],
                     "severity": next(s for s, r in SEVERITY_RANK.items() if r == top), "state": last["state"],
                     "raised": first["time"], "last": last["time"], "message": last["message"],
                     "acked_by": ack.by if ack else "", "acked_at": pd.to_datetime(ack.ack_ts_ms, unit="ms", utc=True) if ack else pd.NaT})
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["open"] = out["state"] != "cleared"
    order = pd.DataFrame({"closed": ~out["open"], "acked": out["acked_by"] != "",
                          "sev": -out["severity"].map(SEVERITY_RANK), "t": -pd.to_datetime(out["raised"], utc=True).astype("int64")})
    return out.loc[order.sort_values(["closed", "acked", "sev", "t"], kind="stable").index].reset_index(drop=True)
