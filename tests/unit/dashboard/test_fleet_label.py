"""A vehicle without a fleet reads "no fleet" on its pages, never "fleet None" or "fleet nan"."""

import pandas as pd

from dashboard.widgets import fleet_label


def test_fleet_label_names_the_fleet_or_says_there_is_none() -> None:
    assert fleet_label("taxi") == "fleet taxi"
    assert [fleet_label(v) for v in (None, float("nan"), pd.NA, "")] == ["no fleet"] * 4
    # as the overview table holds it: a column of strings with missing values
    assert [fleet_label(v) for v in pd.Series(["logistics", None], dtype=object)] == ["fleet logistics", "no fleet"]
