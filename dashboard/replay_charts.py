"""Charts of the route replay page: the path coloured by speed with stops and alerts on the map,
and a speed / alerts timeline with the replay's moment marked, so the two move together."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.maps import ROUTE_MAP_PX, map_view, plain
from rules.fleet.stops import Stop


def speed_route_map(path: pd.DataFrame, upto: int, style: str, stops: Sequence[Stop], alerts: pd.DataFrame) -> go.Figure:
    """Fixes as dots coloured by km/h on a grey line, the vehicle at ``upto``, stops and alerts marked."""
    lats, lons = path["lat"].astype(float), path["lon"].astype(float)
    speeds = path["speed_kmh"].astype(float).fillna(0.0) if "speed_kmh" in path else pd.Series([0.0] * len(path))
    fig = go.Figure([
        go.Scattermap(lat=lats, lon=lons, mode="lines", line={"width": 2, "color": "#bbbbbb"}, name="route", hoverinfo="skip"),
        go.Scattermap(lat=lats, lon=lons, mode="markers", name="speed",
                      marker={"size": 7, "color": list(speeds), "colorscale": "Viridis", "cmin": 0, "cmax": max(float(speeds.max()), 1.0),
                              "colorbar": {"title": {"text": "km/h"}}},
                      text=[f"{t:%H:%M:%S} · {v:.0f} km/h" for t, v in zip(path["time"], speeds, strict=True)], hoverinfo="text"),
        go.Scattermap(lat=[s.lat for s in stops], lon=[s.lon for s in stops], mode="markers", name="stops",
                      marker={"size": 14, "color": "#d62728", "symbol": "circle"},
                      text=[plain(f"stop {s.duration_s / 60:.0f} min · {s.place or ''}") for s in stops], hoverinfo="text"),
    ])
    if not alerts.empty:
        fig.add_trace(go.Scattermap(lat=alerts["lat"].astype(float), lon=alerts["lon"].astype(float), mode="markers", name="alerts",
                                    marker={"size": 12, "color": "#ff7f0e"},
                                    text=[plain(f"{t} · {m}") for t, m in zip(alerts["type"], alerts["message"], strict=True)],
                                    hoverinfo="text"))
    fig.add_trace(go.Scattermap(lat=[lats.iloc[upto]], lon=[lons.iloc[upto]], mode="markers", name="vehicle",
                                marker={"size": 18, "color": "#1f77b4"}))
    fig.update_layout(map={"style": style, **map_view(list(lats), list(lons), ROUTE_MAP_PX)}, margin={"l": 0, "r": 0, "t": 0, "b": 0},
                      height=ROUTE_MAP_PX, legend={"orientation": "h", "y": 1.02})
    return fig


def speed_timeline(path: pd.DataFrame, upto: int, alerts: pd.DataFrame) -> go.Figure:
    """km/h over time, alerts as markers on the time axis, a vertical line at the replay's moment."""
    fig = go.Figure([go.Scatter(x=path["time"], y=path["speed_kmh"].astype(float), mode="lines", name="speed")])
    if not alerts.empty:
        fig.add_trace(go.Scatter(x=alerts["time"], y=[0.0] * len(alerts), mode="markers", name="alerts",
                                 marker={"size": 11, "color": "#ff7f0e", "symbol": "triangle-up"},
                                 text=[plain(f"{t} · {m}") for t, m in zip(alerts["type"], alerts["message"], strict=True)],
                                 hoverinfo="text"))
    fig.add_vline(x=path["time"].iloc[upto], line={"color": "#1f77b4", "width": 2})
    fig.update_layout(height=220, margin={"l": 0, "r": 0, "t": 10, "b": 0}, yaxis_title="km/h", showlegend=False)
    return fig
