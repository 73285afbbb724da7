"""The engine's timer reports each vehicle's ordering counters; the point stores the late share."""

from rules.fleet import engine as E
from rules.fleet.registry import parse_registry
from sinks.influx_points.fleet_analytics import link_point

from .helpers import T0, cfg, fix

REG = parse_registry({"fleets": [{"id": "f1", "name": "F"}], "vehicles": [{"id": "v1", "name": "V", "fleet_id": "f1"}]}, "test")
C = cfg(reorder_hold_s=2, reorder_hold_max_s=10)


def test_timer_reports_the_counters_once_a_minute_and_the_point_has_the_share():
    state, links = E.VehicleState(), []
    arrivals = [(fix(t), T0 + t * 1000 + 300) for t in range(120)]
    arrivals[50], arrivals[51] = (arrivals[51][0], T0 + 50_500), (arrivals[50][0], T0 + 51_900)  # 50 overtaken by 51
    arrivals += [(fix(30.5), T0 + 125_000)]  # 94 s behind the newest: skipped as late
    now = T0
    for f, arrival in arrivals:
        while now <= arrival:
            state, out = E.on_tick(state, "v1", now, REG, C)
            links += out.link
            now += 1000
        state, out = E.on_fix(state, f, arrival, REG, C)
        assert out.link == []  # only the timer reports
    assert [(s.ts - T0) // 1000 for s in links] == [3, 63, 123]  # from the first released fix (after the 2 s hold)
    last = links[-1]
    assert (last.late, last.duplicates, last.released, last.hold_ms) == (0, 0, 120, 2000)  # 50 came 1.4 s after 51: within 2 s
    state, out = E.on_tick(state, "v1", T0 + 183_000, REG, C)
    (s,) = out.link
    assert (s.released, s.late) == (120, 1) and s.late_share == 1 / 121 and s.hold_ms == 10_000  # 94 s behind: the hold's bound
    line = link_point(s, "f1").to_line_protocol()
    assert line.startswith("link_stats,fleet_id=f1,vehicle_id=v1 ")
    assert "late=1i" in line and "released=120i" in line and "hold_ms=10000i" in line and "late_share=0.00826" in line
