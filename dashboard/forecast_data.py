"""The forecast page's reads: ``access.forecast_reads`` behind the dashboard's history cache."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from access import forecast_reads
from access.flux import TimeBound
from access.scope import Scope
from dashboard.data import run_history
from settings.stack import load_stack_settings


def _bucket() -> str:
    return load_stack_settings().influx_bucket_crypto  # per call: tests point the environment at their buckets


def latest_skill(scope: Scope, lookback: timedelta) -> pd.DataFrame:
    return forecast_reads.latest_skill(run_history, _bucket(), scope, lookback)


def forecast_history(scope: Scope, symbol: str, horizon: str, start: TimeBound, stop: datetime | None) -> pd.DataFrame:
    return forecast_reads.forecast_history(run_history, _bucket(), scope, symbol, horizon, start, stop)


def minute_mids(scope: Scope, symbol: str, start: TimeBound, stop: datetime | None) -> pd.DataFrame:
    return forecast_reads.minute_mids(run_history, _bucket(), scope, symbol, start, stop)
