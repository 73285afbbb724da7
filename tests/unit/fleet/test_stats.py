import pytest

from rules.fleet import stats as ST

from .helpers import T0, fix, north


def test_window_start():
    assert ST.window_start_ms(T0 + 59_999) == T0 and ST.window_start_ms(T0 + 60_000) == T0 + 60_000


def test_fold_minute():
    acc = ST.MinuteStats()
    for f in [fix(0, 36, lat=north(0), rpm=1000.0, coolant_temp_c=90.0, fuel_level_pct=50.0, battery_v=14.0),
              fix(1, 54, lat=north(10), coolant_temp_c=95.0),
              fix(2, 72, lat=north(25), rpm=2000.0, fuel_level_pct=49.5)]:
        acc = ST.fold_minute(acc, f)
    assert acc.samples == 3 and acc.mean_speed_kmh == 54 and acc.max_speed_kmh == 72
    assert acc.distance_m == pytest.approx(25, abs=0.01)
    assert acc.mean_rpm == 1500 and acc.max_coolant_c == 95
    assert (acc.last_fuel_pct, acc.last_battery_v, acc.last_lat) == (49.5, 14.0, north(25))
    d = acc.to_dict()
    assert d["mean_speed_kmh"] == 54 and "speed_sum" not in d and d["vehicle_id"] == "v1"


def test_segment_from_the_vehicle_step_counts_across_the_boundary():
    acc = ST.fold_minute(ST.MinuteStats(), fix(60, 36), segment_m=10.0)
    assert acc.distance_m == 10.0


def test_merge_equals_one_fold():
    fixes = [fix(t, 10 * t, rpm=100.0 * t, fuel_level_pct=50.0 - t) for t in range(6)]
    whole, a, b = ST.MinuteStats(), ST.MinuteStats(), ST.MinuteStats()
    for i, f in enumerate(fixes):
        whole = ST.fold_minute(whole, f, 1.0)
        if i < 3:
            a = ST.fold_minute(a, f, 1.0)
        else:
            b = ST.fold_minute(b, f, 1.0)
    assert ST.merge(b, a) == whole


def test_out_of_order_in_window_keeps_newest_last_values():
    acc = ST.fold_minute(ST.MinuteStats(), fix(5, 10, lat=north(50), fuel_level_pct=40.0), 0.0)
    acc = ST.fold_minute(acc, fix(2, 10, lat=north(20), fuel_level_pct=41.0), 0.0)
    assert acc.last_lat == north(50) and acc.last_fuel_pct == 40.0 and acc.last_ts == T0 + 5000
