"""The forecast chart: the mid that happened, each model's forecast of it, the learner's interval."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from rules.crypto.forecast_models import RANDOM_WALK


def forecast_chart(mids: pd.DataFrame, forecasts: pd.DataFrame, learner: str) -> go.Figure:
    """Forecasts drawn at their target time, so a forecast and the mid it aimed at share an x."""
    fig = go.Figure()
    own = forecasts[forecasts["model"] == learner] if not forecasts.empty else forecasts
    if not own.empty:
        fig.add_trace(go.Scatter(x=own["target_time"], y=own["upper_price"], mode="lines", line={"width": 0},
                                 name="interval (upper)", showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=own["target_time"], y=own["lower_price"], mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor="rgba(31,119,180,0.15)", name=f"{learner} interval"))
        fig.add_trace(go.Scatter(x=own["target_time"], y=own["predicted_price"], mode="lines", name=learner,
                                 line={"color": "#1f77b4"}))
    naive = forecasts[forecasts["model"] == RANDOM_WALK] if not forecasts.empty else forecasts
    if not naive.empty:
        fig.add_trace(go.Scatter(x=naive["target_time"], y=naive["predicted_price"], mode="lines", name="random walk (naive)",
                                 line={"color": "#7f7f7f", "dash": "dot", "shape": "hv"}))
    if not mids.empty:
        fig.add_trace(go.Scatter(x=mids["time"], y=mids["mid"], mode="lines", name="mid (what happened)",
                                 line={"color": "#d62728"}))
    fig.update_layout(height=380, margin={"l": 0, "r": 0, "t": 30, "b": 0}, hovermode="x unified")
    return fig
