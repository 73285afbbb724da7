"""Restarts and replays through the flow's per-vehicle step (VehicleLogic + one StreamClock).

Arrival = the Kafka record timestamp (the MQTT receive time) and the timers run on the stream
clock, so: a replay of the same records gives the same alerts (ids and bytes); a backlog read
after downtime makes no vehicle offline that kept sending in it, and does make offline the one
that stopped, stamped when it went offline; a quiet stream still makes vehicles offline. The
wall clock is simulated; Bytewax's timer is a tick of every vehicle per wall second.
"""

from __future__ import annotations

from datetime import timedelta

from contracts import alert as A
from contracts.telemetry import Telemetry
from dataflows.vehicle_logic import Snapshot, VehicleLogic
from rules.fleet.registry import parse_registry
from rules.fleet.stream_clock import StreamClock

from .helpers import T0, cfg, fix, north

C = cfg(offline_timeout_s=120)
REG = parse_registry({"fleets": [{"id": "f1", "name": "F", "speed_limit_kmh": 90}],
                      "vehicles": [{"id": v, "name": v, "fleet_id": "f1"} for v in ("a", "b", "c")]}, "test")
RECEIVE_MS = 200  # device -> MQTT receive time (the Kafka timestamp)
READ_MS = 50  # Kafka timestamp -> the flow reads it, when live
END_S = 900  # a and b send until then; c stops at 180 s


def records() -> list[tuple[Telemetry, int]]:
    """(fix, Kafka timestamp) in the order of the topic: a drives with a 30 s overspeed, b idles, c drives then stops."""
    out = []
    for t in range(0, END_S + 1):
        speed = 120.0 if 300 <= t < 330 else 60.0
        out.append(fix(t, speed, lat=north(t * 17), vid="a", ignition=True))
        out.append(fix(t, 0.0, vid="b", ignition=True))
        if t <= 180:
            out.append(fix(t, 40.0, lat=north(t * 11), vid="c", ignition=True))
    return [(f, f.ts_ms + RECEIVE_MS) for f in out]


class Process:
    """One analytics process: a VehicleLogic per vehicle sharing one StreamClock."""

    def __init__(self, wall_ms: int, resume: list[Snapshot] = ()) -> None:
        self.wall = wall_ms
        self.clock = StreamClock(grace_ms=int(C.offline_timeout_s * 1000))
        self.logics = {snap[0]: self._logic(snap) for snap in resume}
        self.next_tick = wall_ms + 1000
        self.alerts: list[A.Alert] = []
        self.trips: list = []
        self.alerts_at: list[tuple[int, A.Alert]] = []  # (wall time emitted, alert)

    def _logic(self, resume: Snapshot | None) -> VehicleLogic:
        return VehicleLogic(resume, lambda: REG, C, timedelta(seconds=1), 7 * 86400, self.clock, lambda: self.wall)

    def _take(self, outs) -> None:
        for o in outs:
            assert o.errors == []
            self.alerts += o.alerts
            self.alerts_at += [(self.wall, a) for a in o.alerts]
            self.trips += o.trips

    def advance(self, to_ms: int) -> None:
        """Let wall time pass, ticking every vehicle each second."""
        while self.next_tick <= to_ms:
            self.wall = self.next_tick
            for vid, logic in list(self.logics.items()):
                outs, discard = logic.on_notify()
                self._take(outs)
                if discard:
                    del self.logics[vid]
            self.next_tick += 1000
        self.wall = max(self.wall, to_ms)

    def read(self, items: list[tuple[Telemetry, int]], until_ms: int | None = None) -> None:
        """Read ``items`` live (each READ_MS after its timestamp), or all of them evenly until ``until_ms`` (a backlog)."""
        start = self.wall
        for i, (f, ts) in enumerate(items):
            self.advance(ts + READ_MS if until_ms is None else start + (until_ms - start) * (i + 1) // len(items))
            logic = self.logics.get(f.vehicle_id) or self.logics.setdefault(f.vehicle_id, self._logic(None))
            outs, _ = logic.on_item((f, ts))
            self._take(outs)

    def snapshots(self) -> list[Snapshot]:
        return [logic.snapshot() for logic in self.logics.values()]


def key(alerts: list[A.Alert]) -> list[str]:
    return sorted(a.to_json() for a in alerts)


def live_run() -> Process:
    p = Process(T0)
    p.read(records())
    p.advance(T0 + 2000 * 1000)
    return p


def offline_of(alerts: list[A.Alert]) -> dict[str, int]:
    return {a.vehicle_id: a.ts for a in alerts if a.type == A.DEVICE_OFFLINE}


def test_live_run_has_the_expected_alerts():
    p = live_run()
    types = sorted(a.type for a in p.alerts)
    assert types.count(A.OVERSPEED) == 1 and types.count(A.IDLE) == 1 and types.count(A.DEVICE_ONLINE) == 0
    assert offline_of(p.alerts) == {"c": T0 + 180_000 + RECEIVE_MS + 120_000, "a": T0 + END_S * 1000 + RECEIVE_MS + 120_000,
                                    "b": T0 + END_S * 1000 + RECEIVE_MS + 120_000}
    assert len(p.trips) == 1 and p.trips[0].vehicle_id == "a"


def test_replay_of_the_same_records_gives_identical_alerts():
    """Read again from the beginning a day later, the whole topic in 2 s: same ids, same ts, same bytes."""
    ref = live_run()
    later = T0 + 86_400_000
    p = Process(later)
    p.read(records(), until_ms=later + 2000)
    p.advance(later + 2000 + 1200 * 1000)
    assert key(p.alerts) == key(ref.alerts)
    assert sorted(t.trip_id for t in p.trips) == sorted(t.trip_id for t in ref.trips) and p.trips == ref.trips


def test_backlog_after_downtime_offline_only_for_the_vehicle_that_stopped():
    """Analytics down from 60 s to 660 s; restarted from its snapshot, it reads the 10-minute
    backlog in 2 s of wall time. a and b kept sending: no offline, no online. c stopped at 180 s:
    offline, stamped when it went offline (300.2 s), not when it was noticed. Then the live rest."""
    items = records()
    first = Process(T0)
    first.read([r for r in items if r[1] <= T0 + 60_000 + RECEIVE_MS])
    snaps = first.snapshots()
    restart = T0 + 660_000
    backlog = [r for r in items if T0 + 60_000 + RECEIVE_MS < r[1] <= restart]
    rest = [r for r in items if r[1] > restart]
    p = Process(restart, snaps)
    p.advance(restart + 3000)  # ticks before the first record: the clock waits
    p.read(backlog, until_ms=restart + 5000)
    assert [a for a in p.alerts if a.type in (A.DEVICE_OFFLINE, A.DEVICE_ONLINE) and a.vehicle_id != "c"] == []
    p.read(rest)
    p.advance(T0 + 2000 * 1000)
    both = first.alerts + p.alerts
    assert [(a.vehicle_id, a.ts) for a in both if a.type == A.DEVICE_OFFLINE and a.ts < T0 + END_S * 1000] == [
        ("c", T0 + 300_000 + RECEIVE_MS)]
    assert [a for a in both if a.type == A.DEVICE_ONLINE] == []
    assert key(both) == key(live_run().alerts)  # the downtime changed nothing


def test_backlog_of_a_slow_partition_does_not_make_its_vehicles_offline():
    """Two partitions read after an hour of downtime: b's (light: 1 vehicle) is read to its end at
    once, a's (heavy) still an hour behind. b's newest arrival must not make a look silent."""
    items = records()
    first = Process(T0)
    first.read([r for r in items if r[1] <= T0 + 60_000 + RECEIVE_MS])
    restart = T0 + 3_600_000
    backlog_a = [r for r in items if r[0].vehicle_id == "a" and r[1] > T0 + 60_000 + RECEIVE_MS]
    backlog_b = [r for r in items if r[0].vehicle_id == "b" and r[1] > T0 + 60_000 + RECEIVE_MS]
    p = Process(restart, [s for s in first.snapshots() if s[0] in ("a", "b")])
    p.read(backlog_b, until_ms=restart + 1000)
    p.read(backlog_a[:300], until_ms=restart + 4000)  # a is 4 s behind b, its partition still reading minute 6
    assert offline_of(p.alerts) == {}


def test_quiet_stream_goes_offline_after_the_timeout():
    """Every device stops; nothing arrives at all: offline from the wall-clock part of the stream clock."""
    p = Process(T0)
    p.read([r for r in records() if r[0].vehicle_id == "b" and r[0].ts_ms <= T0 + 100_000])
    last = T0 + 100_000 + RECEIVE_MS
    p.advance(last + 119_000)
    assert offline_of(p.alerts) == {}
    p.advance(last + 125_000)
    [(emitted, alert)] = [(w, a) for w, a in p.alerts_at if a.type == A.DEVICE_OFFLINE]
    assert alert.ts == last + 120_000 and last + 120_000 <= emitted <= last + 122_000


def test_restart_into_a_quiet_stream_waits_the_grace_then_alerts_with_the_original_time():
    """Restarted an hour after b's last record, nothing to read: the clock waits the grace (the
    offline timeout) for a backlog, then uses the wall clock; the alert keeps the original time."""
    first = Process(T0)
    first.read([r for r in records() if r[0].vehicle_id == "b" and r[0].ts_ms <= T0 + 100_000])
    restart = T0 + 3_600_000
    p = Process(restart, first.snapshots())
    p.advance(restart + 119_000)
    assert p.alerts == []
    p.advance(restart + 122_000)
    assert [(a.type, a.ts) for a in p.alerts] == [(A.DEVICE_OFFLINE, T0 + 100_000 + RECEIVE_MS + 120_000)]


def test_arrival_is_the_kafka_timestamp_and_the_wall_clock_only_without_one():
    from bytewax.connectors.kafka import KafkaSourceMessage
    from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_NOT_AVAILABLE

    from contracts.avro import encode
    from contracts.telemetry import to_avro_record
    from dataflows.fleet_analytics import decode_fix
    from dataflows.vehicle_logic import wall_clock_ms

    f = fix(0, 50.0)
    value = encode("telemetry", to_avro_record(f))
    got, arrival = decode_fix(KafkaSourceMessage(b"v1", value, timestamp=(TIMESTAMP_CREATE_TIME, T0 + 200)))
    assert got == f and arrival == T0 + 200
    before = wall_clock_ms()
    for ts in ((TIMESTAMP_NOT_AVAILABLE, -1), None):
        _, arrival = decode_fix(KafkaSourceMessage(b"v1", value, timestamp=ts))
        assert before <= arrival <= wall_clock_ms()
