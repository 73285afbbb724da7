"""Tables the pages show, assembled from ``data`` and the registry, always cut to the user's scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from access.status import with_status
from dashboard import data
from dashboard.registry import RegistryView, load_registry
from dashboard.session import PageContext


def scoped_registry(ctx: PageContext, fleet_of: dict[str, str | None] | None = None) -> RegistryView:
    """The registry with only the vehicles and geofences the user may see.

    ``fleet_of`` adds what the data knows about vehicles' fleets (a vehicle missing from the
    registry file still belongs to the fleet tagged on its points).
    """
    s = ctx.settings
    full = load_registry(s.vehicles_file, s.geofences_file, s.live_config)
    known = {vid: v.fleet_id for vid, v in full.vehicles.items()} | dict(fleet_of or {})
    vehicles = {vid: v for vid, v in full.vehicles.items() if ctx.scope.allows(vid, known.get(vid))}
    visible = {vid: f for vid, f in known.items() if ctx.scope.allows(vid, f)}
    geofences = {gid: g for gid, g in full.geofences.items() if ctx.scope.sees_geofence(g.vehicles, g.fleets, visible)}
    problems = full.problems if ctx.scope.admin else ()
    seen = {f for f in visible.values() if f is not None}
    fleets = {fid: f for fid, f in full.fleets.items() if ctx.scope.admin or fid in seen}
    return RegistryView(vehicles, geofences, problems, fleets)


def fleet_overview(ctx: PageContext, now: datetime | None = None) -> tuple[pd.DataFrame, RegistryView]:
    """Every vehicle in scope with its last position, status, name and owner; and the scoped registry."""
    s = ctx.settings
    now = now or datetime.now(UTC)
    positions = data.latest_positions(ctx.scope, timedelta(hours=s.position_lookback_h))
    counts = data.recent_alert_counts(ctx.scope, timedelta(seconds=s.alerting_window_s))
    df = with_status(positions, counts, now, s.offline_after_s, s.moving_kmh)
    registry = scoped_registry(ctx, dict(zip(df["vehicle_id"], df["fleet_id"], strict=True)))
    df["name"] = [registry.vehicles[v].name if v in registry.vehicles else v for v in df["vehicle_id"]]
    df["owner"] = [registry.vehicles[v].owner if v in registry.vehicles else None for v in df["vehicle_id"]]
    df["active"] = [registry.vehicles[v].active if v in registry.vehicles else True for v in df["vehicle_id"]]
    return df, registry


def vehicle_choices(overview: pd.DataFrame, registry: RegistryView) -> dict[str, str]:
    """vehicle id -> label for pickers: vehicles with data first, then registry-only ones."""
    labels = {v: f"{n} ({v})" for v, n in zip(overview["vehicle_id"], overview["name"], strict=True)}
    for vid, v in sorted(registry.vehicles.items()):
        labels.setdefault(vid, f"{v.name} ({vid}) - no data")
    return labels


def trip_summary(trips: pd.DataFrame, registry: RegistryView) -> pd.DataFrame:
    """Per vehicle: trips, km, hours, harsh and overspeed events, distance-weighted score."""
    cols = ["vehicle_id", "name", "driver", "trips", "distance_km", "hours", "harsh_events", "overspeed_events", "score"]
    if trips.empty:
        return pd.DataFrame(columns=cols)
    t = trips.copy()
    for c in ("distance_km", "duration_s", "harsh_events", "overspeed_events", "score"):
        t[c] = pd.to_numeric(t[c], errors="coerce").fillna(0.0)
    t["weighted"] = t["score"] * t["distance_km"]
    g = t.groupby("vehicle_id").agg(trips=("trip_id", "count"), distance_km=("distance_km", "sum"),
                                    duration_s=("duration_s", "sum"), harsh_events=("harsh_events", "sum"),
                                    overspeed_events=("overspeed_events", "sum"), weighted=("weighted", "sum"),
                                    score_mean=("score", "mean")).reset_index()
    g["score"] = [w / d if d > 0 else m for w, d, m in zip(g["weighted"], g["distance_km"], g["score_mean"], strict=True)]
    g["hours"] = g["duration_s"] / 3600.0
    g["name"] = [registry.vehicles[v].name if v in registry.vehicles else v for v in g["vehicle_id"]]
    g["driver"] = [registry.vehicles[v].owner if v in registry.vehicles else None for v in g["vehicle_id"]]
    return g[cols].sort_values("score", ignore_index=True).round({"distance_km": 1, "hours": 2, "score": 1})
