"""``publish_vehicles --scenario ... --ends-ago``: the plan the demo's backfill publishes lies
wholly in the past, ending where asked, and drives the same scenarios as the live rounds."""

from __future__ import annotations

import pytest

from rules.fleet.config import FleetSettings
from simulators.publish_vehicles import parse_args
from simulators.scenario_cli import build_plan

NOW = 1_800_000_000_000
DAY_S = 86_400


def last_fix_ts(args_line: list[str]) -> tuple[int, int, int]:
    p = build_plan(parse_args(args_line), NOW, FleetSettings())
    ts = [pl.message.ts_ms for pl in p.schedule]
    return min(ts), max(ts), len(p.schedule)


def test_a_backfill_ends_the_given_time_before_now_at_any_speed() -> None:
    live_first, live_last, live_n = last_fix_ts(["--scenario", "demo", "--speedup", "0"])
    first, last, n = last_fix_ts(["--scenario", "demo", "--speedup", "0", "--ends-ago", str(DAY_S)])
    assert n == live_n > 100  # the same messages
    assert last <= NOW - DAY_S * 1000 and (first, last) == (live_first - DAY_S * 1000, live_last - DAY_S * 1000)


def test_a_negative_backfill_is_refused_naming_the_option() -> None:
    with pytest.raises(ValueError, match="--ends-ago"):
        build_plan(parse_args(["--scenario", "demo", "--ends-ago", "-5"]), NOW, FleetSettings())
