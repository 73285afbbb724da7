"""Stops (Traccar semantics) and daily summaries, on hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.alert import make_alert
from contracts.trip import Trip
from rules.fleet.config import FleetSettings
from rules.fleet.places import City, PlaceIndex
from rules.fleet.stops import Sample, Stop, detect_stops, with_places
from rules.fleet.summaries import DaySummary, driver_days, fuel_used_pct, vehicle_days

T0 = int(datetime(2025, 11, 24, 10, 0, tzinfo=UTC).timestamp() * 1000)
KW = {"speed_kmh": 5.0, "min_duration_s": 300.0, "max_gap_s": 600.0}


def s(t: float, speed: float, ign: bool | None = True, lat: float = 52.5, **kw: object) -> Sample:
    return Sample(T0 + int(t * 1000), lat, 13.4, speed, ign, **kw)  # type: ignore[arg-type]


def test_a_stop_from_the_first_stopped_fix_to_the_next_moving_one_with_engine_on_time() -> None:
    """Stopped 120..480 s (360 s); engine on at 120, 180 and 420: three 60 s intervals idle."""
    fixes = [s(0, 50), s(60, 50), s(120, 0, lat=52.6), s(180, 0), s(240, 0, False), s(300, 0, False), s(360, 0, False),
             s(420, 0), s(480, 30)]
    assert detect_stops("v1", fixes, **KW) == [Stop("v1", T0 + 120_000, T0 + 480_000, 52.6, 13.4, 180.0, True)]
    assert detect_stops("v1", fixes, **KW)[0].duration_s == 360.0


def test_a_short_stop_is_a_pause_and_exactly_the_minimum_is_a_stop() -> None:
    short = [s(0, 50), s(60, 0), s(180, 0), s(299, 0), s(300, 40)]  # 240 s
    assert detect_stops("v1", short, **KW) == []
    exact = [s(0, 50), s(60, 0), s(200, 0), s(360, 40)]  # 300 s
    assert [x.duration_s for x in detect_stops("v1", exact, **KW)] == [300.0]


def test_ignition_off_is_stopped_whatever_the_gps_speed() -> None:
    drift = [s(0, 50), s(60, 12, False), s(200, 9, False), s(400, 11, False), s(460, 50)]
    stops = detect_stops("v1", drift, **KW)
    assert [(x.duration_s, x.idle_s, x.ignition_off) for x in stops] == [(400.0, 0.0, True)]


def test_rpm_counts_as_engine_on_without_ignition() -> None:
    fixes = [s(0, 50, None), s(60, 0, None, rpm=800.0), s(360, 0, None, rpm=0.0), s(420, 0, None), s(480, 50, None)]
    assert [(x.duration_s, x.idle_s, x.ignition_off) for x in detect_stops("v1", fixes, **KW)] == [(420.0, 300.0, False)]


def test_a_data_gap_is_a_stop_from_the_last_fix_before_it() -> None:
    fixes = [s(0, 50), s(60, 50), s(960, 50), s(1020, 50)]
    assert [(x.start_ts - T0, x.end_ts - T0, x.idle_s) for x in detect_stops("v1", fixes, **KW)] == [(60_000, 960_000, 0.0)]


def test_a_stop_at_the_end_of_the_data_is_ongoing_and_duplicates_are_skipped() -> None:
    fixes = [s(0, 50), s(60, 0), s(60, 50), *[s(t, 0) for t in range(120, 601, 60)]]
    stops = detect_stops("v1", fixes, **KW)
    assert [(x.start_ts - T0, x.end_ts - T0, x.ongoing) for x in stops] == [(60_000, 600_000, True)]


def test_stops_get_places() -> None:
    ix = PlaceIndex([City("Town", "Region", "DE", 52.5, 13.4)])
    assert with_places([Stop("v1", 0, 1, 52.5, 13.4, 0.0, False)], ix)[0].place == "Town, Region, DE"


def test_fuel_used_net_of_refuels() -> None:
    """80 -> 75 (5), wobble +1, -> 70 (6), refuel +20 (2 + 8 + 10 in one rising run), 90 -> 88 (2): 12."""
    assert fuel_used_pct([80, 78, 75, 76, 70, 72, 80, 90, 88], 10.0) == 12.0
    assert fuel_used_pct([50, 45, 60], 10.0) == 5.0  # 5 used, +15 refuel, ending on the rise
    assert fuel_used_pct([], 10.0) is None


def trip(tid: str, vid: str, start_s: float, km: float, dur: float, idle: float, vmax: float, events: dict[str, int]) -> Trip:
    return Trip(tid, vid, "f1", T0 + int(start_s * 1000), T0 + int((start_s + dur) * 1000), 52.5, 13.4, 52.6, 13.5,
                km, dur, vmax, 0.0, idle, {"harsh_braking": 0, "harsh_acceleration": 0, "harsh_cornering": 0, "overspeed": 0, **events})


def alert(type_: str, t: float, state: str = "raised") -> object:
    return make_alert(vehicle_id="v1", fleet_id="f1", type=type_, severity="warning" if state == "raised" else "info",
                      ts=T0 + int(t * 1000), episode_ts=T0 + int(t * 1000), message="m", state=state)  # type: ignore[arg-type]


def v1_day() -> DaySummary:
    trips = [trip("a", "v1", 0, 10.0, 1800, 120, 80, {"harsh_braking": 1}), trip("b", "v1", 3600, 20.0, 1800, 0, 100, {"overspeed": 1})]
    stops = [Stop("v1", T0 + 1_800_000, T0 + 2_400_000, 52.6, 13.5, 60.0, True)]
    alerts = [alert("idle", 100), alert("idle", 200), alert("idle", 300, "cleared"), alert("overspeed", 4000)]
    samples = [s(i * 600, 50, fuel_level_pct=f) for i, f in enumerate([80, 78, 75, 76, 70, 72, 80, 90, 88])]
    [day] = vehicle_days("v1", trips, stops, alerts, samples, "UTC", FleetSettings())  # type: ignore[arg-type]
    return day


def test_vehicle_day_by_hand() -> None:
    """driving 3600 - 120 s; mean 30 km / 0.9667 h = 31.0; idle 120 in trips + 60 in the stop;
    score 100 - (2 x 1 braking + 3 x 1 overspeed + 1 x 120/600) x 100 / 30 = 82.7."""
    day = v1_day()
    assert (day.day, day.trips, day.distance_km, day.driving_s, day.idle_s) == ("2025-11-24", 2, 30.0, 3480.0, 180.0)
    assert (day.max_speed_kmh, day.mean_speed_kmh, day.stops, day.stopped_s) == (100.0, 31.0, 1, 600.0)
    assert day.alerts == {"idle": 2, "overspeed": 1}
    assert (day.fuel_used_pct, day.safety_score) == (12.0, 82.7)


def test_day_is_the_local_date_of_the_start() -> None:
    late = trip("c", "v1", 13.5 * 3600, 5.0, 600, 0, 50, {})  # 23:30 UTC = 00:30 in Berlin, the next day
    assert [d.day for d in vehicle_days("v1", [late], [], [], [], "Europe/Berlin", FleetSettings())] == ["2025-11-25"]
    assert [d.day for d in vehicle_days("v1", [late], [], [], [], "UTC", FleetSettings())] == ["2025-11-24"]


def test_driver_day_adds_up_their_vehicles() -> None:
    """ann drives v1 (above) and v2 (10 km in 600 s at up to 120): 40 km, 4080 s driving, mean 35.3,
    score 100 - 5.2 x 100 / 40 = 87.0; v3 has no owner and is left out."""
    [v2] = vehicle_days("v2", [trip("d", "v2", 0, 10.0, 600, 0, 120, {})], [], [], [], "UTC", FleetSettings())
    [v3] = vehicle_days("v3", [trip("e", "v3", 0, 99.0, 600, 0, 120, {})], [], [], [], "UTC", FleetSettings())
    [ann] = driver_days([v1_day(), v2, v3], {"v1": "ann", "v2": "ann", "v3": None}, FleetSettings())
    assert (ann.key, ann.vehicles, ann.trips, ann.distance_km, ann.driving_s) == ("ann", ("v1", "v2"), 3, 40.0, 4080.0)
    assert (ann.mean_speed_kmh, ann.max_speed_kmh, ann.fuel_used_pct, ann.safety_score) == (35.3, 120.0, 12.0, 87.0)
    assert ann.alerts == {"idle": 2, "overspeed": 1}
