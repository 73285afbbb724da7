"""Position history of one vehicle, as JSON and as RFC 7946 GeoJSON, over the dashboard's seeded world.

v1 (the parent's car, fleet A) has 24 fixes in the last hour, written by tests/dashboard/seed.py
through the production point builder: the 20-minute trip's route (21 fixes a minute apart, 40 km/h)
and the three latest fixes (50 km/h). Foreign vehicles are the same 404 as unknown ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import World, auth, token

pytestmark = pytest.mark.integration
HOUR = {"from": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
# lon, lat (RFC 7946 order) of v1's fixes, oldest first
ROUTE = [[13.40 + 0.001 * m, 52.50 + 0.002 * m] for m in range(21)] + [[13.40, 52.50 - 0.001 * (2 - k)] for k in range(3)]
SPEEDS = [40.0] * 21 + [50.0] * 3


def _close(got: list[list[float]], want: list[list[float]]) -> bool:
    return len(got) == len(want) and all(g == pytest.approx(w, abs=1e-9) for g, w in zip(got, want, strict=True))


@pytest.mark.parametrize("role", ["parent", "manager", "admin"])
def test_json_positions_are_every_seeded_fix(client: TestClient, world: World, role: str) -> None:
    r = client.get(f"/v1/vehicles/{world.v1}/positions", headers=auth(token(client, world, role)), params=HOUR)
    assert (r.status_code, r.headers["content-type"]) == (200, "application/json"), r.text
    body = r.json()
    assert (body["vehicle_id"], body["source"], body["next_from"]) == (world.v1, "raw", None)
    assert _close([[p["lon"], p["lat"]] for p in body["positions"]], ROUTE)
    assert [p["speed_kmh"] for p in body["positions"]] == SPEEDS
    assert [p["time"] for p in body["positions"]] == sorted(p["time"] for p in body["positions"])


def test_geojson_line_and_points(client: TestClient, world: World) -> None:
    h = auth(token(client, world, "parent"))
    times = [p["time"] for p in client.get(f"/v1/vehicles/{world.v1}/positions", headers=h, params=HOUR).json()["positions"]]
    r = client.get(f"/v1/vehicles/{world.v1}/positions", headers=h, params={**HOUR, "format": "geojson"})
    assert (r.status_code, r.headers["content-type"]) == (200, "application/geo+json"), r.text
    doc = r.json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 1
    (line,) = doc["features"]
    assert line["type"] == "Feature" and line["geometry"]["type"] == "LineString"
    assert _close(line["geometry"]["coordinates"], ROUTE)
    assert (doc["source"], doc["next_from"]) == ("raw", None)
    assert line["properties"] == {"vehicle_id": world.v1, "start": times[0], "end": times[-1], "times": times, "speeds_kmh": SPEEDS}
    points = client.get(f"/v1/vehicles/{world.v1}/positions", headers=h,
                        params={**HOUR, "format": "geojson", "geometry": "points"}).json()["features"]
    assert [f["geometry"]["type"] for f in points] == ["Point"] * 24
    assert _close([f["geometry"]["coordinates"] for f in points], ROUTE)
    assert [f["properties"] for f in points] == [{"vehicle_id": world.v1, "time": t, "speed_kmh": s} for t, s in zip(times, SPEEDS, strict=True)]
    # one fix: a Point (a LineString needs two positions, RFC 7946 3.1.4); none: an empty collection
    last = {"from": times[-1], "format": "geojson"}
    (one,) = client.get(f"/v1/vehicles/{world.v1}/positions", headers=h, params=last).json()["features"]
    assert one["geometry"] == {"type": "Point", "coordinates": pytest.approx(ROUTE[-1], abs=1e-9)}
    old = {"from": "2020-01-01T00:00:00Z", "to": "2020-01-01T01:00:00Z", "format": "geojson"}
    assert client.get(f"/v1/vehicles/{world.v1}/positions", headers=h, params=old).json() == {
        "type": "FeatureCollection", "features": [], "source": "raw", "next_from": None}


def test_foreign_vehicle_is_404_in_either_format_and_bad_format_400(client: TestClient, world: World) -> None:
    parent, manager = auth(token(client, world, "parent")), auth(token(client, world, "manager"))
    for headers, foreign in ((parent, world.v2), (manager, world.v3)):
        for fmt in ("json", "geojson"):
            r = client.get(f"/v1/vehicles/{foreign}/positions", headers=headers, params={**HOUR, "format": fmt})
            assert (r.status_code, r.json()["detail"]) == (404, f"no vehicle {foreign!r}")
    r = client.get(f"/v1/vehicles/{world.v1}/positions", headers=parent, params={"format": "kml"})
    assert (r.status_code, r.headers["content-type"]) == (400, "application/problem+json")


def test_raw_pages_continue_with_next_from_and_long_ranges_are_windowed(client: TestClient, world: World) -> None:
    h = auth(token(client, world, "parent"))
    every = client.get(f"/v1/vehicles/{world.v1}/positions", headers=h, params=HOUR).json()["positions"]
    params, pages = {**HOUR, "to": datetime.now(UTC).isoformat(), "limit": "10"}, []
    while True:
        body = client.get(f"/v1/vehicles/{world.v1}/positions", headers=h, params=params).json()
        pages.append(body["positions"])
        if body["next_from"] is None:
            break
        params["from"] = body["next_from"]
    assert [len(p) for p in pages] == [10, 10, 4]
    assert [p for page in pages for p in page] == every
    # longer than API_RAW_MAX_RANGE_H (12 h in these tests): the last fix per window, in one answer
    day = client.get(f"/v1/vehicles/{world.v1}/positions", headers=h,
                     params={"from": (datetime.now(UTC) - timedelta(hours=13)).isoformat(), "limit": "1000"}).json()
    assert (day["source"], day["next_from"]) == ("last per 0:00:46", None)
    # the 21 route fixes are 60 s apart (a window each); the three latest span 20 s (one or two windows), the first
    # maybe in the route's last fix's window (40 s before it): 22 or 23 windows, wherever the 46 s windows fall
    assert len(day["positions"]) in (22, 23)
