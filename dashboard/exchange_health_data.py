"""The exchange health page's reads and chart: ``access.exchange_health_reads`` behind the dashboard's cache."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from access import exchange_health_reads
from access.flux import TimeBound
from access.scope import Scope
from dashboard.data import run_history
from settings.stack import load_stack_settings


def _bucket() -> str:
    return load_stack_settings().influx_bucket_crypto  # per call: tests point the environment at their buckets


def latest_health(scope: Scope, lookback: timedelta) -> pd.DataFrame:
    return exchange_health_reads.latest_health(run_history, _bucket(), scope, lookback)


def health_history(scope: Scope, start: TimeBound, stop: datetime | None) -> pd.DataFrame:
    return exchange_health_reads.health_history(run_history, _bucket(), scope, start, stop)


def history_chart(history: pd.DataFrame, exchanges: list[str]) -> go.Figure:
    """Quotes/s, median latency and fresh share of the chosen exchanges, one row each, shared time axis."""
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("Quotes/s", "Latency p50 (ms, receive - exchange time)", "Fresh share of symbols"))
    palette = plotly.colors.qualitative.Plotly
    for n, exchange in enumerate(exchanges):
        rows = history[history["exchange"] == exchange]
        for i, column in enumerate(("quotes_per_s", "latency_p50_ms", "fresh_share"), start=1):
            fig.add_trace(go.Scatter(x=rows["time"], y=rows[column], mode="lines+markers", name=exchange, legendgroup=exchange,
                                     showlegend=i == 1, line={"color": palette[n % len(palette)]}), row=i, col=1)
    fig.update_layout(height=560, margin={"l": 0, "r": 0, "t": 30, "b": 0}, hovermode="x unified")
    return fig
