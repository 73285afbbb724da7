"""Plotly figures of the dashboard (fleet map, route replay, prices); pages only place them.

Map figures use ``Scattermap`` with a tile style that needs no token; without network the
tiles are simply blank and the markers and geofences still draw. Every device string that
reaches a label goes through ``plain()``: plotly reads a few HTML tags in labels, and a
vehicle called ``<b>x</b>`` must show those characters, not bold text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go

from access.status import STATUS_COLORS, STATUSES
from rules.fleet.geofence_shapes import Geofence

GEOFENCE_COLORS = {"allowed": "rgba(44,160,44,0.15)", "forbidden": "rgba(214,39,40,0.18)", "zone": "rgba(255,127,14,0.15)"}
GEOFENCE_LINES = {"allowed": "#2ca02c", "forbidden": "#d62728", "zone": "#ff7f0e"}
_EARTH_M = 6_371_008.8


def plain(value: object) -> str:
    """A device / registry value made safe for a plotly label: shown as typed, never as markup."""
    return html.escape("" if value is None else str(value), quote=False)


def _circle(lon: float, lat: float, radius_m: float, n: int = 48) -> list[tuple[float, float]]:
    dlat = math.degrees(radius_m / _EARTH_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return [(lon + dlon * math.cos(2 * math.pi * i / n), lat + dlat * math.sin(2 * math.pi * i / n)) for i in range(n + 1)]


def geofence_rings(g: Geofence) -> list[list[tuple[float, float]]]:
    """Outer rings (lon, lat) to draw: polygons' outlines, a circle for a Point, the line of a corridor."""
    geo = g.feature.get("geometry") or {}
    coords = geo.get("coordinates") or []
    kind = geo.get("type")
    try:
        if kind == "Polygon":
            return [[(float(x), float(y)) for x, y, *_ in coords[0]]] if coords else []
        if kind == "MultiPolygon":
            return [[(float(x), float(y)) for x, y, *_ in poly[0]] for poly in coords if poly]
        if kind == "Point":
            radius = float((g.feature.get("properties") or {}).get("radius_m") or 0)
            return [_circle(float(coords[0]), float(coords[1]), radius)] if radius > 0 else []
        if kind == "LineString":
            return [[(float(x), float(y)) for x, y, *_ in coords]]
    except (TypeError, ValueError, IndexError):
        return []
    return []


def _geofence_traces(geofences: Iterable[Geofence]) -> list[go.Scattermap]:
    traces = []
    for g in geofences:
        closed = g.shape != "corridor"
        for ring in geofence_rings(g):
            traces.append(go.Scattermap(
                lon=[p[0] for p in ring], lat=[p[1] for p in ring], mode="lines",
                fill="toself" if closed else "none", fillcolor=GEOFENCE_COLORS.get(g.kind),
                line={"width": 2, "color": GEOFENCE_LINES.get(g.kind, "#7f7f7f")},
                name=f"geofence {plain(g.name)}", hoverinfo="text", text=plain(f"{g.name} ({g.kind})"),
                showlegend=False, meta={"geofence_id": g.id}))
    return traces


TILE_PX = 512  # MapLibre's world is 512 px wide at zoom 0
FLEET_MAP_PX, ROUTE_MAP_PX = 520, 420  # map heights


def map_view(lats: Sequence[float], lons: Sequence[float], height_px: int) -> dict[str, object]:
    """Centre and zoom that show every point, with a margin, in a map ``height_px`` high.

    A degree of latitude takes 1/cos(lat) more pixels than a degree of longitude (Mercator),
    and the map is at least as wide as it is high, so fitting the larger of the two spans
    into the height fits both."""
    if not lats:
        return {"center": {"lat": 48.0, "lon": 10.0}, "zoom": 3}
    centre_lat = (max(lats) + min(lats)) / 2
    lat_span = (max(lats) - min(lats)) / max(0.1, math.cos(math.radians(centre_lat)))
    span = max(lat_span, max(lons) - min(lons), 0.005)
    zoom = math.log2(height_px * 360.0 / (TILE_PX * span)) - 1.0  # -1: the points fill half the height
    return {"center": {"lat": centre_lat, "lon": (max(lons) + min(lons)) / 2}, "zoom": max(1.0, min(15.0, zoom))}


def fleet_map(vehicles: pd.DataFrame, geofences: Iterable[Geofence], style: str, selected: str | None) -> go.Figure:
    """Vehicles coloured by status (one trace per status, customdata = vehicle id), geofences below."""
    fig = go.Figure(_geofence_traces(geofences))
    for status in STATUSES:
        part = vehicles[vehicles["status"] == status] if not vehicles.empty else vehicles
        if part.empty:
            continue
        labels = [plain(f"{n} ({v}) · {status} · {s:.0f} km/h") for n, v, s in
                  zip(part["name"], part["vehicle_id"], part["speed_kmh"].fillna(0).astype(float), strict=True)]
        sizes = [18 if v == selected else 11 for v in part["vehicle_id"]]
        fig.add_trace(go.Scattermap(lat=part["lat"].astype(float), lon=part["lon"].astype(float), mode="markers",
                                    marker={"size": sizes, "color": STATUS_COLORS[status]}, name=status,
                                    text=labels, hoverinfo="text", customdata=list(part["vehicle_id"])))
    view = map_view(list(vehicles["lat"].astype(float)) if not vehicles.empty else [],
                 list(vehicles["lon"].astype(float)) if not vehicles.empty else [], FLEET_MAP_PX)
    fig.update_layout(map={"style": style, **view}, margin={"l": 0, "r": 0, "t": 0, "b": 0}, height=FLEET_MAP_PX,
                      legend={"orientation": "h", "y": 1.02}, uirevision="fleet-map")
    return fig


def route_map(route: pd.DataFrame, upto: int, style: str, geofences: Iterable[Geofence] = ()) -> go.Figure:
    """A trip's route; the part driven up to index ``upto`` is bold and the vehicle sits at that point."""
    fig = go.Figure(_geofence_traces(geofences))
    if not route.empty:
        lats, lons = route["lat"].astype(float), route["lon"].astype(float)
        fig.add_trace(go.Scattermap(lat=lats, lon=lons, mode="lines", line={"width": 2, "color": "#aaaaaa"}, name="route"))
        fig.add_trace(go.Scattermap(lat=lats[: upto + 1], lon=lons[: upto + 1], mode="lines",
                                    line={"width": 4, "color": "#1f77b4"}, name="driven"))
        fig.add_trace(go.Scattermap(lat=[lats.iloc[upto]], lon=[lons.iloc[upto]], mode="markers",
                                    marker={"size": 16, "color": "#d62728"}, name="vehicle"))
        view = map_view(list(lats), list(lons), ROUTE_MAP_PX)
    else:
        view = map_view([], [], ROUTE_MAP_PX)
    fig.update_layout(map={"style": style, **view}, margin={"l": 0, "r": 0, "t": 0, "b": 0}, height=ROUTE_MAP_PX)
    return fig


def best_quotes(spreads: pd.DataFrame) -> go.Figure:
    """Best bid and best ask over time; the hover names the exchange of each side."""
    fig = go.Figure()
    if not spreads.empty:
        for side, colour in (("bid", "#2ca02c"), ("ask", "#d62728")):
            ex = spreads.get(f"best_{side}_exchange", pd.Series([""] * len(spreads)))
            fig.add_trace(go.Scatter(x=spreads["time"], y=spreads[f"best_{side}"], mode="lines", name=f"best {side}",
                                     line={"color": colour, "shape": "hv"},
                                     text=[plain(e) for e in ex], hovertemplate="%{y} on %{text}<extra></extra>"))
    fig.update_layout(height=360, margin={"l": 0, "r": 0, "t": 30, "b": 0}, hovermode="x unified")
    return fig


def spread_margin(spreads: pd.DataFrame) -> go.Figure:
    """Spread % and arbitrage margin after fees % over time."""
    fig = go.Figure()
    for col, name in (("spread_pct", "spread %"), ("arbitrage_pct_after_fees", "arbitrage after fees %")):
        if col in spreads.columns:
            fig.add_trace(go.Scatter(x=spreads["time"], y=spreads[col], mode="lines", name=name))
    fig.update_layout(height=300, margin={"l": 0, "r": 0, "t": 30, "b": 0})
    return fig


def candles(ohlc: pd.DataFrame, exchange: str) -> go.Figure:
    """Candlestick of one exchange."""
    part = ohlc[ohlc["exchange"] == exchange] if not ohlc.empty else ohlc
    fig = go.Figure()
    if not part.empty:
        fig.add_trace(go.Candlestick(x=part["time"], open=part["open"], high=part["high"], low=part["low"],
                                     close=part["close"], name=plain(exchange)))
    fig.update_layout(height=320, margin={"l": 0, "r": 0, "t": 30, "b": 0}, xaxis_rangeslider_visible=False,
                      title=plain(exchange))
    return fig
