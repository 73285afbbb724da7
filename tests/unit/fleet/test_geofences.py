import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from contracts import alert as A
from rules.fleet import geofences as G
from rules.fleet.geofence_shapes import GeofenceError, parse_collection, parse_feature
from settings.registry_files import load_geofences

from .helpers import LAT, LON, T0, cfg, fix, ms, north

REPO = Path(__file__).resolve().parents[3]
C = cfg(geofence_dwell_s=10, geofence_dwell_samples=2)


def feature(geometry, **props):
    props.setdefault("id", "g1")
    props.setdefault("kind", "forbidden")
    return {"type": "Feature", "properties": props, "geometry": geometry}


def circle(radius=100.0, **props):
    return parse_feature(feature({"type": "Point", "coordinates": [LON, LAT]}, radius_m=radius, **props), "test")


def run(fence, points, fleet_id=None, c=C, state=None):
    """points: (t_s, metres north of the centre)."""
    state, out = state or G.GeofenceState(), []
    for t, m in points:
        state, alerts = G.step(state, fix(t, 10, lat=north(m)), fleet_id, {fence.id: fence}, c)
        out += alerts
    return state, out


def test_example_file_loads_every_shape():
    fences = load_geofences(REPO / "config" / "geofences.geojson")
    assert {f.shape for f in fences.values()} == {"polygon", "circle", "corridor"}
    school = fences["lena-school-days"]
    assert school.kind == "allowed" and school.schedule is not None and school.applies_to("family-car", "family")
    assert not school.applies_to("van-01", "logistics")
    assert fences["depot-moabit"].applies_to("van-01", "logistics")
    assert fences["tegel-restricted"].applies_to("anyone", None)


def test_circle_radius_in_metres():
    c = circle(100)
    assert c.contains(north(99), LON) and not c.contains(north(101), LON)


def test_corridor_width_is_total_width():
    line = parse_feature(feature({"type": "LineString", "coordinates": [[LON, LAT], [LON + 0.05, LAT]]}, width_m=60), "t")
    assert line.shape == "corridor"
    assert line.contains(north(29), LON + 0.02) and not line.contains(north(31), LON + 0.02)


@pytest.mark.parametrize("feat,words", [
    (feature({"type": "Point", "coordinates": [LON, LAT]}), "radius_m must be a positive number"),
    (feature({"type": "LineString", "coordinates": [[LON, LAT], [LON, LAT + 0.1]]}, width_m=-5), "width_m"),
    (feature({"type": "Point", "coordinates": [LON, LAT]}, radius_m=5, kind="maybe"), "kind must be"),
    (feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}), "polygon is invalid"),
    (feature({"type": "Point", "coordinates": [LAT, 200]}, radius_m=5), "coordinates must be"),
    (feature({"type": "Point", "coordinates": [LON, LAT]}, radius_m=5, schedule={"timezone": "X/Y", "windows": []}), "time zone"),
    ({"type": "Feature", "properties": {"kind": "allowed"}, "geometry": None}, "property id"),
])
def test_errors_name_the_file_and_the_feature(feat, words, tmp_path):
    path = tmp_path / "zones.geojson"
    good = feature({"type": "Point", "coordinates": [LON, LAT]}, id="ok", radius_m=5)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [good, feat]}))
    with pytest.raises(GeofenceError) as err:
        load_geofences(path)
    assert str(err.value).startswith(f"{path}: feature #1")
    assert words in str(err.value)


def test_duplicate_ids_and_bad_files(tmp_path):
    f = feature({"type": "Point", "coordinates": [LON, LAT]}, radius_m=5)
    with pytest.raises(GeofenceError, match="duplicate id 'g1'"):
        parse_collection({"type": "FeatureCollection", "features": [f, f]}, "x.geojson")
    with pytest.raises(GeofenceError, match="FeatureCollection"):
        parse_collection([f], "x.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{nope")
    with pytest.raises(GeofenceError, match="bad.geojson: not JSON"):
        load_geofences(bad)
    with pytest.raises(GeofenceError, match="cannot read"):
        load_geofences(tmp_path / "missing.geojson")


def test_first_state_emits_no_enter_but_a_crossing_does_after_dwell():
    fence = circle(100, kind="zone")
    pts = [(t, 50) for t in range(0, 15)] + [(t, 300) for t in range(15, 40)]
    _, out = run(fence, pts)
    assert [(a.type, a.ts) for a in out] == [(A.GEOFENCE_EXIT, T0 + 25_000)]  # 10 s after the first outside fix
    assert out[0].details["crossed_at_ts"] == T0 + 15_000 and out[0].geofence_id == "g1"


def test_jitter_on_the_border_makes_no_events():
    fence = circle(100, kind="zone")
    state, _ = run(fence, [(t, 300) for t in range(0, 15)])  # confirmed outside
    jitter = [(15 + t, 97 if t % 2 else 103) for t in range(60)]  # in / out every second
    state, out = run(fence, jitter, state=state)
    assert out == []
    assert state.tracks["g1"].inside is False


def test_dwell_needs_both_time_and_samples():
    fence = circle(100, kind="zone")
    state, _ = run(fence, [(0, 300), (10, 300)])
    # inside at 40 s: one sample; 41 s: two samples but only 1 s; 50 s: both -> confirmed
    state, out = run(fence, [(40, 0), (41, 0)], state=state)
    assert out == []
    state, out = run(fence, [(50, 0)], state=state)
    assert [(a.type, a.details["crossed_at_ts"]) for a in out] == [(A.GEOFENCE_ENTER, T0 + 40_000)]


def test_forbidden_zone_one_violation_per_episode():
    fence = circle(100, kind="forbidden")
    pts = [(t, 300) for t in range(0, 12)] + [(t, 0) for t in range(12, 40)] + [(t, 300) for t in range(40, 60)] + [(t, 0) for t in range(60, 80)]
    _, out = run(fence, pts)
    got = [(a.type, a.state) for a in out]
    assert got == [(A.GEOFENCE_ENTER, "raised"), (A.GEOFENCE_INSIDE_FORBIDDEN, "raised"), (A.GEOFENCE_EXIT, "raised"),
                   (A.GEOFENCE_INSIDE_FORBIDDEN, "cleared"), (A.GEOFENCE_ENTER, "raised"), (A.GEOFENCE_INSIDE_FORBIDDEN, "raised")]
    assert out[1].severity == "critical" and out[1].ts == T0 + 22_000
    assert out[1].alert_id != out[5].alert_id
    assert out[3].incident_id == out[1].alert_id and out[3].ts == out[2].ts and out[3].severity == "info"  # the exit clears it


def test_vehicle_starting_inside_forbidden_zone_is_a_violation():
    _, out = run(circle(100), [(t, 0) for t in range(0, 12)])
    assert [a.type for a in out] == [A.GEOFENCE_INSIDE_FORBIDDEN]


def test_allowed_zone_with_schedule_alerts_only_while_active():
    berlin = ZoneInfo("Europe/Berlin")
    sched = {"timezone": "Europe/Berlin", "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "17:00"}]}
    fence = circle(1000, kind="allowed", schedule=sched)
    base = ms(datetime(2025, 11, 24, 6, 55, tzinfo=berlin))  # Monday 06:55 Berlin
    state, out = G.GeofenceState(), []
    for i in range(0, 600, 30):  # outside the zone from 06:55 to 07:04:30
        state, a = G.step(state, fix(0, 10, lat=north(5000)).model_copy(update={"ts_ms": base + i * 1000}), None, {"g1": fence}, C)
        out += a
    assert [a.type for a in out] == [A.GEOFENCE_OUTSIDE_ALLOWED]
    assert out[0].ts == ms(datetime(2025, 11, 24, 7, 0, tzinfo=berlin))  # the first fix when the window opened


def test_speed_limit_applies_when_confirmed_inside_and_active():
    fence = circle(100, kind="zone", speed_limit_kmh=30)
    fences = {"g1": fence}
    state, _ = run(fence, [(0, 0)])
    assert G.speed_limit(state, fences, T0) is None  # not confirmed yet
    state, _ = run(fence, [(t, 0) for t in range(1, 12)], state=state)
    assert G.speed_limit(state, fences, T0) == 30
    assert G.zones_inside(state) == ["g1"]


def test_geofence_for_other_vehicles_is_ignored():
    fence = circle(100, vehicles=["v9"], fleets=["f9"])
    _, out = run(fence, [(t, 0) for t in range(0, 20)], fleet_id="f1")
    assert out == []
    _, out = run(fence, [(t, 0) for t in range(0, 20)], fleet_id="f9")
    assert [a.type for a in out] == [A.GEOFENCE_INSIDE_FORBIDDEN]


def test_margin_band_counts_for_neither_side_and_crossing_time_is_the_edge():
    fence = circle(100, kind="zone")  # default margin 15 m
    state, _ = run(fence, [(t, 300) for t in range(0, 12)])  # confirmed outside
    # drive in at 10 m/s from 126 m to the centre: 96 m (just inside the edge) at t=15, 76 m at t=17
    pts = [(12 + t, 126 - 10 * t) for t in range(14)]
    _, out = run(fence, pts, state=state)
    (enter,) = out
    assert enter.type == A.GEOFENCE_ENTER
    assert enter.details["crossed_at_ts"] == T0 + 15_000  # the first fix on the inside of the edge
    assert enter.ts == T0 + 25_000  # dwell 10 s from the crossing, with >= 2 fixes 15 m inside
    # wandering 14 m either side of the edge for a minute: nothing
    state, _ = run(fence, [(t, 300) for t in range(0, 12)])
    _, out = run(fence, [(12 + t, 100 + (14 if t % 3 else -14)) for t in range(60)], state=state)
    assert out == []


def test_zone_margin_property_and_fix_accuracy_widen_the_band():
    fence = circle(100, kind="zone", margin_m=30)
    assert fence.margin_m == 30 and fence.depth_m(north(80), LON) == pytest.approx(20, abs=0.5)
    state, _ = run(fence, [(t, 300) for t in range(0, 12)])
    _, out = run(fence, [(t, 80) for t in range(12, 40)], state=state)  # 20 m inside: within 30 m
    assert out == []
    plain = circle(100, kind="zone")
    c = cfg(geofence_margin_m=15)
    assert G.margin_for(plain, fix(0), c) == 15
    assert G.margin_for(plain, fix(0, accuracy_m=12.0), c) == 24  # 2 sigma
    assert G.margin_for(plain, fix(0, hdop=4.0), c) == 40  # 2 x hdop x 5 m
    assert G.margin_for(plain, fix(0, hdop=4.0, accuracy_m=5.0), c) == 15  # accuracy wins, never under the margin
    state, out = G.GeofenceState(), []
    for t in range(0, 12):
        state, _ = G.step(state, fix(t, 10, lat=north(300)), None, {"g1": plain}, C)
    for t in range(12, 40):  # 25 m inside, but the device says its fixes are +-20 m
        state, a = G.step(state, fix(t, 10, lat=north(75), accuracy_m=20.0), None, {"g1": plain}, C)
        out += a
    assert out == []
    with pytest.raises(GeofenceError, match="margin_m must be a number >= 0"):
        circle(100, margin_m=-1)


def test_parked_car_cannot_enter_by_drift_but_a_drive_in_still_counts():
    fence = circle(100, kind="forbidden")
    fences = {"g1": fence}

    def feed(state, fixes):
        out = []
        for f in fixes:
            state, a = G.step(state, f, None, fences, C)
            out += a
        return state, out

    parked = [fix(t, 0.0, lat=north(130), ignition=False) for t in range(0, 30)]  # 30 m outside
    state, out = feed(G.GeofenceState(), parked)
    assert out == [] and state.tracks["g1"].inside is False
    # the position jumps 50 m inside for a minute (a multipath fix run); the car is parked
    state, out = feed(state, [fix(t, 0.0, lat=north(50), ignition=False) for t in range(30, 90)])
    assert out == [] and state.tracks["g1"].inside is False
    # ignition on but standing (speed <= 2 km/h) for more than geofence_stationary_s: still nothing
    state, out = feed(state, [fix(t, 0.5, lat=north(50 + t % 7), ignition=True) for t in range(90, 200)])
    assert out == []
    # driving in is an entry even if the car stops and switches off inside within the dwell
    state, _ = feed(state, [fix(t, 30.0, lat=north(300)) for t in range(200, 215)])
    drive = [fix(215 + t, 30.0, lat=north(140 - 8 * t)) for t in range(10)] + [fix(225 + t, 0.0, lat=north(60), ignition=False) for t in range(20)]
    state, out = feed(state, drive)
    assert [a.type for a in out] == [A.GEOFENCE_ENTER, A.GEOFENCE_INSIDE_FORBIDDEN]


def test_limit_since_is_the_first_fix_above_the_zone_limit_after_the_crossing():
    fence = circle(100, kind="zone", speed_limit_kmh=30)
    fences = {"g1": fence}
    state, _ = run(fence, [(t, 300) for t in range(0, 12)])
    assert G.limit_since(state, fences, T0 + 11_000) is None
    pos = 130.0
    for t in range(12, 30):
        state, _ = G.step(state, fix(t, 60.0, lat=north(pos)), None, fences, C)
        pos -= 60 / 3.6
        if state.tracks["g1"].inside:
            break
    crossed = state.tracks["g1"].confirmed_ts
    assert G.limit_since(state, fences, crossed) == T0 + 14_000  # first fix inside the edge (pos 96.7 m)
    assert G.limit_since(state, fences, crossed + 1000) is None  # only at the confirming fix
