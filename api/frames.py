"""DataFrames of ``access.reads`` -> JSON-ready dicts: NaN/NaT as null, times as ISO 8601 UTC, numpy as Python."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pandas as pd


def plain(value: Any) -> Any:
    """One cell as a JSON value."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        if pd.isna(value):
            return None
        ts = pd.Timestamp(value)
        ts = ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)
        return ts.isoformat().replace("+00:00", "Z")
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def rows(df: pd.DataFrame, columns: Iterable[str]) -> list[dict[str, Any]]:
    """The rows of ``df`` with exactly ``columns`` (missing ones null)."""
    cols = list(columns)
    out = []
    for record in df.to_dict(orient="records"):
        out.append({c: plain(record.get(c)) for c in cols})
    return out
