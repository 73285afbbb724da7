"""``python -m bench`` (what ``make bench`` runs) picks its benchmarks from the command line."""

import pytest

from bench.__main__ import BENCHMARKS, selected


def test_no_argument_or_all_runs_every_benchmark_in_order():
    assert selected([]) == list(BENCHMARKS) == ["fleet", "peers", "crypto", "dashboard"]
    assert selected(["all"]) == list(BENCHMARKS)


def test_named_benchmarks_run_in_their_order():
    assert selected(["crypto", "fleet"]) == ["fleet", "crypto"]


def test_an_unknown_name_is_refused_with_the_choices(capsys):
    with pytest.raises(SystemExit) as exc:
        selected(["fleets"])
    assert exc.value.code == 2
    assert "unknown benchmark(s) fleets; choose from fleet, peers, crypto, dashboard, all" in capsys.readouterr().err
