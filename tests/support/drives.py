"""Scripted drives the integration tests publish through the real pipeline (the scenario device
builds the messages, so they are what a device sends)."""

from __future__ import annotations

from simulators.scenario_device import Device

PARIS, SAINT_DENIS = (48.8530, 2.3499), (48.9362, 2.3574)


def paris_round_trip(vid: str, start_ms: int) -> list:
    """Paris -> Saint-Denis at 60 km/h, key off 7 min, back, key off 7 min (then nothing):
    two trips and two stops, the second stop ended only by the vehicle's silence."""
    d = Device(vid, start_ms, *PARIS)
    d.emit()
    d.drive_to(*SAINT_DENIS, kmh=60)
    d.switch(False)
    d.wait(420, every_s=30)
    d.switch(True)
    d.drive_to(*PARIS, kmh=60)
    d.switch(False)
    d.wait(420, every_s=30)
    return d.messages
