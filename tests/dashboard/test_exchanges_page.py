"""The Exchange health page for the trader and the admin: a failing exchange tops the table and is
named in an error box with its reason; slow, excluded and ok follow in that order; the excluded
exchange's outlier is listed with the reason; the history chart draws the chosen exchanges.

Seeds its own four exchanges in the session's crypto bucket: three windows of quotes, collector
status records and spreads run through the real rule (rules.crypto.exchange_health), written as
the flow's points (tests/dashboard/seed_exchange_health.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from settings.stack import load_stack_settings
from tests.dashboard.conftest import World, open_page, plotly_specs, sign_in
from tests.dashboard.seed import delete_where, new_run_id, operator_client, write
from tests.dashboard.seed_exchange_health import OUTLIER, SeededHealth, health_points

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def seeded(world: World) -> Iterator[SeededHealth]:
    s = load_stack_settings()
    client = operator_client(s)
    names, points = health_points(new_run_id(), datetime.now(UTC))
    write(client, s.influx_bucket_crypto, s.influx_org, points)
    try:
        yield names
    finally:
        for exchange in names.exchanges:
            delete_where(client, s.influx_bucket_crypto, s.influx_org, f'exchange="{exchange}"')
        client.close()


@pytest.mark.parametrize("role", ["trader", "admin"])
def test_failing_exchange_first_and_named_with_its_reason(world: World, seeded: SeededHealth, role: str) -> None:
    at = open_page(sign_in(world, role), "pages/exchanges.py")
    assert at.title[0].value == "Exchange health"
    table = at.dataframe[0].value
    mine = table[table["Exchange"].isin([seeded.failing, seeded.slow, seeded.excluded, seeded.ok])]
    assert list(zip(mine["Exchange"], mine["Health"], strict=True)) == [
        (seeded.failing, "failing"), (seeded.slow, "slow"), (seeded.excluded, "excluded"), (seeded.ok, "ok")]
    failing = mine.iloc[0]
    assert failing["Reason"] == "no quote, 4 errors (2 rate limits, 0 timeouts) in 10 s: RateLimitExceeded: 429 (simulated)"
    assert (failing["Quotes/s"], failing["Fresh symbols"], failing["Latency p50 (ms)"], failing["Errors"]) == ("0.00", "0 of 2", "n/a", "4")
    slow = mine.iloc[1]
    assert (slow["Quotes/s"], slow["Latency p50 (ms)"], slow["Fresh symbols"]) == ("0.20", "3200", "2 of 2")
    assert slow["Reason"] == "median latency 3.20 s (receive - exchange time) over 2 s"
    assert mine.iloc[2]["Reason"] == f"HOT/USDT outlier: {OUTLIER}"
    assert all("nan" not in str(v).lower() and "none" not in str(v).lower() for v in mine.to_numpy().ravel())
    boxes = [e.value for e in at.error]
    assert f"**{seeded.failing}** is failing: {failing['Reason']}" in boxes
    assert not any(seeded.slow in b or seeded.ok in b for b in boxes)
    left_out = at.dataframe[1].value
    row = left_out[left_out["Exchange"] == seeded.excluded].iloc[0]
    assert (row["Outlier symbols"], row["Stale symbols"], row["Why"]) == ("1", "0", f"HOT/USDT outlier: {OUTLIER}")


def test_history_chart_of_the_chosen_exchanges(world: World, seeded: SeededHealth) -> None:
    at = open_page(sign_in(world, "trader"), "pages/exchanges.py")
    at.multiselect(key="exchanges_chosen").set_value([seeded.failing, seeded.slow]).run()
    assert not at.exception, [e.value for e in at.exception]
    (spec,) = plotly_specs(at)
    names = [t.get("name") for t in spec["data"]]
    assert names == [seeded.failing] * 3 + [seeded.slow] * 3  # quotes/s, latency, fresh share each
    assert seeded.last[seeded.slow].window_end_ms - seeded.last[seeded.slow].window_start_ms == 10_000
