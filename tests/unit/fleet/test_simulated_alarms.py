"""The random fleet simulator reports device alarms now and then, valid by the contract, without
changing the drive it would make without them."""

import json
from collections import Counter
from dataclasses import replace

from contracts.telemetry import parse_telemetry
from simulators.vehicles import ALARMS, fleet


def test_alarms_are_rare_contract_valid_and_leave_the_drive_unchanged() -> None:
    with_alarms = fleet(20, seed=3)
    without = [replace(s, rng=type(s.rng)(), alarm_rng=None) for s in fleet(20, seed=3)]
    for a, b in zip(with_alarms, without, strict=True):
        b.rng.setstate(a.rng.getstate())
    seen: Counter = Counter()
    for t in range(3600):  # one hour at 1 Hz
        for a, b in zip(with_alarms, without, strict=True):
            doc_a, doc_b = a.step(1.0, 1_795_600_800_000 + t * 1000), b.step(1.0, 1_795_600_800_000 + t * 1000)
            alarm = doc_a.pop("alarm", None)
            assert doc_a == doc_b
            if alarm is not None:
                seen[alarm] += 1
                fix = parse_telemetry(f"fleet/{doc_b['vehicle_id']}/telemetry", json.dumps({**doc_b, "alarm": alarm}).encode(),
                                      1_795_600_800_000 + t * 1000)
                assert fix.alarm == alarm
    assert set(seen) <= set(ALARMS) and 1 <= sum(seen.values()) <= 20  # 20 vehicle-hours at one per 4 h: ~5
