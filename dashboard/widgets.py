"""Small input widgets shared by pages (time range), and CSV export that spreadsheets cannot execute."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from access.flux import TimeBound
from rules.spreadsheet import spreadsheet_safe

RANGES: dict[str, timedelta] = {
    "Last 15 minutes": timedelta(minutes=15), "Last hour": timedelta(hours=1), "Last 6 hours": timedelta(hours=6),
    "Last 24 hours": timedelta(hours=24), "Last 7 days": timedelta(days=7), "Last 30 days": timedelta(days=30),
}
CUSTOM = "Custom dates"


def time_range(key: str, default: str = "Last 24 hours") -> tuple[TimeBound, datetime | None]:
    """A relative range (a timedelta, cache-friendly) or custom UTC dates (start, stop)."""
    options = [*RANGES, CUSTOM]
    choice = st.selectbox("Time range", options, index=options.index(default), key=f"{key}_range")
    if choice != CUSTOM:
        return RANGES[choice], None
    today = datetime.now(UTC).date()
    picked = st.date_input("Dates (UTC)", value=(today - timedelta(days=1), today), key=f"{key}_dates")
    first, last = (picked if isinstance(picked, tuple) and len(picked) == 2 else (today, today))
    assert isinstance(first, date) and isinstance(last, date)
    return (datetime.combine(first, time.min, UTC), datetime.combine(last + timedelta(days=1), time.min, UTC))


def csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV of a table; text cells that a spreadsheet would run as a formula are prefixed with ' (``rules.spreadsheet``)."""
    text: str = spreadsheet_safe(df).to_csv(index=False)  # no path: pandas returns the CSV text
    return text.encode("utf-8")


def text_of(value: object) -> str:
    """A stored text field as shown: "" for a missing one (None, NaN - never "None" / "nan")."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)


def for_display(df: pd.DataFrame) -> pd.DataFrame:
    """A copy for ``st.dataframe`` with missing cells empty: Streamlit draws a missing value as
    "None", which reads as data (an acknowledgement time, a deposit's price). Columns without a
    missing value are left as they are (numbers stay numbers, right-aligned)."""
    out = df.copy()
    for col in out.columns:
        missing = out[col].isna()
        if not missing.any():
            continue
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            shown = out[col].astype(str)
        elif pd.api.types.is_numeric_dtype(out[col]):
            shown = out[col].map(lambda v: f"{v:,.10g}")
        else:
            shown = out[col].map(str)
        out[col] = shown.where(~missing, "")
    return out


def fleet_label(fleet_id: object) -> str:
    """``fleet <id>``, or ``no fleet`` for a vehicle the registry gives none (never "fleet None" / "nan")."""
    return "no fleet" if fleet_id is None or pd.isna(fleet_id) or fleet_id == "" else f"fleet {fleet_id}"
