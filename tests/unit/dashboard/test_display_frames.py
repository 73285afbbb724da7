"""Tables as the dashboard shows them: a missing value is an empty cell, never "None" or "nan"
(seen in the demo: acknowledgement times, a deposit's price, a vehicle without trouble codes)."""

from __future__ import annotations

import math

import pandas as pd

from dashboard.widgets import for_display, text_of


def test_missing_cells_are_empty_and_the_rest_unchanged() -> None:
    df = pd.DataFrame({
        "acked_at": pd.to_datetime([1_796_000_000_000, None], unit="ms", utc=True),
        "price": [58000.0, math.nan],
        "note": ["to a friend", None],
        "qty": [1.5, 2.0],  # nothing missing: left numeric
    })
    shown = for_display(df)
    assert list(shown["acked_at"]) == ["2026-11-30 00:53:20+00:00", ""]
    assert list(shown["price"]) == ["58,000", ""]
    assert list(shown["note"]) == ["to a friend", ""]
    assert shown["qty"].dtype == float and list(shown["qty"]) == [1.5, 2.0]
    assert df["price"].isna().sum() == 1  # the caller's frame is not changed


def test_text_of_a_missing_field_is_empty() -> None:
    assert [text_of(v) for v in (None, math.nan, "P0300,P0171", 7)] == ["", "", "P0300,P0171", "7"]
