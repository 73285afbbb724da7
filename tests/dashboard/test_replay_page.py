"""Route replay page on the seeded world: scoped choice, path coloured by speed, the slider moving
the vehicle on the map and the marker on the timeline together, alerts marked, GPX export."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import World, open_page, plotly_specs, sign_in, values

pytestmark = pytest.mark.integration


def trace(spec: dict, name: str) -> dict:
    return next(t for t in spec["data"] if t.get("name") == name)


def test_parent_replays_their_car(world: World) -> None:
    at = open_page(sign_in(world, "parent"), "pages/replay.py")
    options = at.selectbox(key="replay_page_vehicle").options
    assert len(options) == 1 and world.v1 in options[0]
    at.selectbox(key="replay_page_range").set_value("Last hour").run()
    assert not at.exception
    assert at.slider(key="replay_page_pos").max == 23  # 21 route fixes + 3 recent ones
    map_spec, timeline = plotly_specs(at)
    speed = trace(map_spec, "speed")
    assert len(values(speed["lat"])) == 24
    assert values(speed["marker"]["color"])[:21] == [40.0] * 21 and values(speed["marker"]["color"])[21:] == [50.0] * 3
    assert len(values(trace(map_spec, "alerts")["lat"])) == 1  # the seeded refuel
    stops = trace(map_spec, "stops")  # the stored one (no fix of it is seeded: computing from fixes finds none)
    assert values(stops["lat"]) == [pytest.approx(52.50)] and values(stops["text"]) == ["stop 30 min · Kreuzberg, State of Berlin, DE"]
    assert "1 stops" in at.caption[0].value
    at.slider(key="replay_page_pos").set_value(5).run()
    map_spec, timeline = plotly_specs(at)
    vehicle = trace(map_spec, "vehicle")
    assert values(vehicle["lat"]) == [pytest.approx(52.50 + 0.002 * 5)]
    [line] = timeline["layout"]["shapes"]
    assert line["x0"] == line["x1"] and line["x0"].startswith(str(values(trace(timeline, "speed")["x"])[5])[:16])
    assert at.download_button(key="replay_page_gpx").label == "Export GPX"


def test_manager_chooses_among_their_fleet(world: World) -> None:
    at = open_page(sign_in(world, "manager"), "pages/replay.py")
    options = at.selectbox(key="replay_page_vehicle").options
    assert len(options) == 2 and all(world.v3 not in o for o in options)


def playing_at(at) -> int:
    """The position while playing: the progress bar's 'fix N of M' (no slider then)."""
    assert not [x for x in at.slider if x.key == "replay_page_pos"], "no slider while playing"
    [bar] = at.get("progress")
    return int(bar.text.split("fix ")[1].split(" of ")[0])


def test_play_steps_the_position_map_and_timeline_until_the_end(world: World) -> None:
    """Play: each run of the replay fragment (every PLAY_TICK_S in the browser; each at.run() here)
    steps the position by the chosen number of fixes - a progress bar instead of the slider, whose
    browser-side value raced the steps - the map's vehicle and the timeline's line with it; it stops
    at the last fix, where the slider is back; Pause holds the position."""
    at = open_page(sign_in(world, "parent"), "pages/replay.py")
    at.selectbox(key="replay_page_range").set_value("Last hour").run()
    assert at.slider(key="replay_page_pos").value == 23 and not [b for b in at.button if b.key == "replay_page_pause"]
    at.button(key="replay_page_play").click().run()  # from the end: starts again at the first fix
    assert not at.exception and playing_at(at) == 0
    assert at.button(key="replay_page_pause").label == "Pause"
    at.run()
    assert playing_at(at) == 1 and at.get("progress")[0].value == round(100 / 23)
    map_spec, timeline = plotly_specs(at)
    assert values(trace(map_spec, "vehicle")["lat"]) == [pytest.approx(52.502)]
    [line] = timeline["layout"]["shapes"]
    assert line["x0"].startswith(str(values(trace(timeline, "speed")["x"])[1])[:16])
    at.selectbox(key="replay_page_step").set_value(5).run()
    assert playing_at(at) == 6
    at.selectbox(key="replay_page_step").set_value(20).run()  # 26 > 23: the last fix, then the page stops playing
    assert not at.exception and at.slider(key="replay_page_pos").value == 23 and not at.get("progress")
    assert at.button(key="replay_page_play").label == "Play"
    at.run()
    assert at.slider(key="replay_page_pos").value == 23
    at.button(key="replay_page_play").click().run()  # again from the first fix, 20 fixes a step
    at.run()
    assert playing_at(at) == 20
    at.button(key="replay_page_pause").click().run()
    at.run()
    assert at.slider(key="replay_page_pos").value == 20 and at.button(key="replay_page_play").label == "Play"
    assert not at.warning and not at.exception
