"""The Exchange health page for the trader and the admin: a failing exchange tops the table and is
named in an error box with its reason; slow, excluded and ok follow in that order; the excluded
exchange's outlier is listed with the reason; the history chart draws the chosen exchanges.

Seeds its own four exchanges in the session's crypto bucket: three windows of quotes, collector
status records and spreads run through the real rule (rules.crypto.exchange_health), written as
the flow's points."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from contracts.exchange_health import ExchangeHealth, ExchangeStatus, SpreadExclusions
from contracts.quote import Quote
from rules.crypto.exchange_health import HealthRules, HealthState
from settings.stack import load_stack_settings
from sinks.influx_points.exchange_health import health_point
from tests.dashboard.conftest import World, open_page, plotly_specs, sign_in
from tests.dashboard.seed import delete_where, new_run_id, operator_client, write

pytestmark = pytest.mark.integration

OUTLIER = "mid 3.7 is 3600.00% from the median 0.1 of 4 exchanges"


@dataclass(frozen=True)
class Seeded:
    failing: str
    slow: str
    excluded: str
    ok: str
    last: dict[str, ExchangeHealth]


def events(names: Seeded, start: int) -> Iterator[Quote | ExchangeStatus | SpreadExclusions]:
    """Three 10-second windows from ``start``, and the event that closes the third."""
    def status(exchange: str, t: int, state: str = "polling", errors: int = 0) -> ExchangeStatus:
        return ExchangeStatus(exchange, t, start, "simulated", state, 2, 0, 0, 0, errors, errors // 2, 0, 0,
                              "RateLimitExceeded: 429 (simulated)" if errors else None)

    for k in range(3):
        t = start + k * 10_000
        for symbol in ("BTC/USDT", "HOT/USDT"):
            for exchange, latency in ((names.slow, 3_200), (names.excluded, 150), (names.ok, 120)):
                yield Quote(exchange, symbol, 100.0, 100.5, None, None, None, None, t + 1_000 - latency, t + 1_000, "simulated")
        yield SpreadExclusions("HOT/USDT", t + 1_000, ((names.excluded, "outlier", OUTLIER),))
        for exchange in (names.slow, names.excluded, names.ok):
            yield status(exchange, t + 5_000)
        yield status(names.failing, t + 5_000, "backoff", errors=4 * (k + 1))
    yield status(names.ok, start + 30_000)


@pytest.fixture(scope="module")
def seeded(world: World) -> Iterator[Seeded]:
    s = load_stack_settings()
    client = operator_client(s)
    run = new_run_id()
    names = Seeded(f"hf{run}", f"hs{run}", f"hx{run}", f"ho{run}", {})
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    start = now_ms - now_ms % 10_000 - 40_000
    rules, state, out = HealthRules(), HealthState(), []
    for e in events(names, start):
        state, new = rules.update(state, e)
        out += new
    write(client, s.influx_bucket_crypto, s.influx_org, [health_point(h) for h in out])
    try:
        yield Seeded(names.failing, names.slow, names.excluded, names.ok, {h.exchange: h for h in out})
    finally:
        for exchange in (names.failing, names.slow, names.excluded, names.ok):
            delete_where(client, s.influx_bucket_crypto, s.influx_org, f'exchange="{exchange}"')
        client.close()


@pytest.mark.parametrize("role", ["trader", "admin"])
def test_failing_exchange_first_and_named_with_its_reason(world: World, seeded: Seeded, role: str) -> None:
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


def test_history_chart_of_the_chosen_exchanges(world: World, seeded: Seeded) -> None:
    at = open_page(sign_in(world, "trader"), "pages/exchanges.py")
    at.multiselect(key="exchanges_chosen").set_value([seeded.failing, seeded.slow]).run()
    assert not at.exception, [e.value for e in at.exception]
    (spec,) = plotly_specs(at)
    names = [t.get("name") for t in spec["data"]]
    assert names == [seeded.failing] * 3 + [seeded.slow] * 3  # quotes/s, latency, fresh share each
    assert seeded.last[seeded.slow].window_end_ms - seeded.last[seeded.slow].window_start_ms == 10_000
