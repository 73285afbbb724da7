"""Incidents end to end: MQTT -> ingest -> Kafka -> analytics -> fleet.alerts -> notifier -> SMTP,
and the acknowledgement through the dashboard's own code.

Two vehicles publish through the real Mosquitto (the run's own topic root) into the real ingest,
analytics and store flows (started as the journeys start them, on this test's own topics and
buckets): a parked car whose battery hovers at its 12.2 V limit for an hour (dozens of readings
cross it) and a van whose coolant overheats to a warning, then to critical (an escalation), with
an overspeed episode that ends (a clear). ``python -m notifier`` sends to a real SMTP server
(aiosmtpd) started here. Exact counts: one e-mail per incident raise and per escalation, clears
only to the recipient who asks for them, each naming the incident the flows raised; the
battery's samples never become more than its one incident's e-mail. Then a fleet manager
acknowledges the open critical incident with ``dashboard.acks.acknowledge`` on the run's
``DASHBOARD_ACKS_TOPIC``; another reader (``read_acks``, the page's ``cached_acks``) sees it, and
the dashboard's incident list (``data.alerts`` from InfluxDB + ``incidents``) shows it
acknowledged, after the unacknowledged ones, where it was listed first before.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from access.scope import scope_for
from access.users import User, hash_password
from contracts.telemetry import parse_telemetry
from dashboard import acks as ack_store
from dashboard import data
from dashboard.incidents import incidents
from settings.rules_env import load_fleet_settings
from tests.integration.test_notifier import Mailbox, all_committed, free_port, notifier
from tests.support.expected import expected_alerts
from tests.support.services import FlowProcess, kafka_topics, publish, require_stack, running_flow, unique, write_registry

pytestmark = pytest.mark.integration
DEADLINE_S = 240.0  # per wait: generous for a loaded 2-core machine
BATTERY_MINUTES = 60
VAN_SECONDS = 60


def battery_drive(vid: str, end_ms: int) -> list[dict[str, Any]]:
    """A parked car (ignition off), one fix a minute for an hour, its battery 12.19 V +-0.03 V."""
    rng = random.Random(16)
    return [{"vehicle_id": vid, "ts": end_ms - (BATTERY_MINUTES - m) * 60_000 - 90_000, "lat": 52.45, "lon": 13.35,
             "speed_kmh": 0.0, "ignition": False, "battery_v": round(12.19 + rng.uniform(-0.03, 0.03), 3)}
            for m in range(BATTERY_MINUTES)]


def van_drive(vid: str, end_ms: int) -> list[dict[str, Any]]:
    """A van at 50 km/h, one fix a second: coolant 100 C, 115 C from 10 s (warning), 125 C from
    20 s (critical: the incident escalates, and stays open); 120 km/h from 30 to 44 s (limit 100)."""
    out, lon = [], 13.30
    for t in range(VAN_SECONDS):
        speed = 120.0 if 30 <= t < 45 else 50.0
        lon += speed / 3.6 / 68_000
        coolant = 100.0 if t < 10 else 115.0 if t < 20 else 125.0
        out.append({"vehicle_id": vid, "ts": end_ms - (VAN_SECONDS - t) * 1000, "lat": 52.40, "lon": round(lon, 7),
                    "speed_kmh": speed, "ignition": True, "rpm": 2000, "battery_v": 14.1, "coolant_temp_c": coolant})
    return out


def wait_for(what: str, probe: Callable[[], Any], ok: Callable[[Any], bool], flows: tuple[FlowProcess, ...],
             timeout_s: float = DEADLINE_S) -> Any:
    """Poll until ``ok(probe())``; fail with the last answer, or at once when a flow died."""
    deadline, got = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        got = probe()
        if ok(got):
            return got
        for f in flows:
            if f.proc.poll() is not None:
                raise AssertionError(f"{what}: flow exited with {f.proc.returncode}; log {f.log_path}")
        time.sleep(0.5)
    raise AssertionError(f"{what}: not seen within {timeout_s:.0f} s; last answer: {got!r}")


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


def test_one_email_per_incident_and_the_acknowledgement_reaches_every_dashboard(
        tmp_path: Path, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch) -> None:
    s = require_stack()
    mailbox, smtp_port = smtp
    run = unique("incident")
    fleet, car, van = f"{run}-fleet", f"{run}-car", f"{run}-van"
    vehicles_file = write_registry(tmp_path / "vehicles.json", {fleet: [car, van]})
    geofences_file = tmp_path / "geofences.geojson"
    geofences_file.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    t = {k: f"{run}.{k}" for k in ("telemetry", "deadletter", "alerts", "trips", "points")}
    config_topic, acks_topic = f"{run}.config", f"{run}.acks"
    env = {"INGEST_TELEMETRY_TOPIC": t["telemetry"], "INGEST_DEADLETTER_TOPIC": t["deadletter"],
           "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run,
           "STORE_TELEMETRY_TOPIC": t["telemetry"], "STORE_POINTS_TOPIC": t["points"], "STORE_DEADLETTER_TOPIC": t["deadletter"],
           "STORE_CONFIG_TOPIC": config_topic, "STORE_VEHICLES_FILE": str(vehicles_file),
           "ANALYTICS_TELEMETRY_TOPIC": t["telemetry"], "ANALYTICS_POINTS_TOPIC": t["points"],
           "ANALYTICS_ALERTS_TOPIC": t["alerts"], "ANALYTICS_TRIPS_TOPIC": t["trips"],
           "ANALYTICS_DEADLETTER_TOPIC": t["deadletter"], "ANALYTICS_CONFIG_TOPIC": config_topic,
           "ANALYTICS_VEHICLES_FILE": str(vehicles_file), "ANALYTICS_GEOFENCES_FILE": str(geofences_file)}
    recipients = {"recipients": {
        "dispatch": {"emails": ["dispatch@example.com"], "min_severity": "warning"},
        "workshop": {"emails": ["workshop@example.com"], "types": ["battery_low", "coolant_high", "overspeed", "overspeed_end"],
                     "notify_cleared": True}},
        "fleets": {fleet: ["dispatch", "workshop"]}}
    (tmp_path / "recipients.json").write_text(json.dumps(recipients))
    notifier_env = {"NOTIFIER_TOPIC": t["alerts"], "NOTIFIER_GROUP_ID": run,
                    "NOTIFIER_RECIPIENTS_FILE": str(tmp_path / "recipients.json"),
                    "NOTIFIER_DELIVERIES_DB": str(tmp_path / "deliveries.sqlite"), "NOTIFIER_SMTP_HOST": "127.0.0.1",
                    "NOTIFIER_SMTP_PORT": str(smtp_port), "NOTIFIER_SMTP_TLS": "none", "NOTIFIER_COMMIT_INTERVAL_S": "0.2"}

    end_ms = int(time.time() * 1000)
    docs = battery_drive(car, end_ms) + van_drive(van, end_ms)
    messages = [(f"fleet/{d['vehicle_id']}/telemetry", json.dumps(d).encode()) for d in docs]
    fixes = sorted((parse_telemetry(topic, payload, end_ms) for topic, payload in messages), key=lambda f: f.ts_ms)
    engine = [json.loads(a) for a in expected_alerts(fixes, str(vehicles_file), load_fleet_settings()).values()]

    # What the rules make of these drives (the pure engine), written out: the battery crosses its limit
    # dozens of times and is one incident; the coolant is raised, escalated once, still open; the
    # overspeed (20 km/h over the default 100: a warning) is raised and cleared.
    crossings = sum(1 for a, b in zip(docs, docs[1:], strict=False)
                    if a["vehicle_id"] == b["vehicle_id"] == car and (a["battery_v"] < 12.2) != (b["battery_v"] < 12.2))
    assert crossings >= 20, crossings
    by = Counter((a["type"], a["state"]) for a in engine)
    assert by[("battery_low", "raised")] == 1 and by[("battery_low", "escalated")] == by[("battery_low", "cleared")] == 0, by
    assert by[("coolant_high", "raised")] == by[("coolant_high", "escalated")] == 1 and by[("coolant_high", "cleared")] == 0, by
    assert by[("overspeed", "raised")] == by[("overspeed_end", "cleared")] == 1, by
    incident = {a["type"]: a["incident_id"] for a in engine if a["state"] == "raised"}
    coolant_id = incident["coolant_high"]
    assert all(a["incident_id"] == coolant_id for a in engine if a["type"] == "coolant_high")
    assert next(a for a in engine if a["type"] == "overspeed_end")["incident_id"] == incident["overspeed"]

    # Who must get which e-mail, from the recipients above: (incident id, state) per address.
    notices = {(a["incident_id"], a["state"]) for a in engine if a["state"] != "cleared"}
    want = {
        "dispatch@example.com": {(a["incident_id"], a["state"]) for a in engine
                                 if a["state"] != "cleared" and a["severity"] in ("warning", "critical")},
        "workshop@example.com": {(a["incident_id"], a["state"]) for a in engine
                                 if a["type"] in ("battery_low", "coolant_high", "overspeed", "overspeed_end")},
    }
    assert len(want["workshop@example.com"]) == 5  # battery raise, coolant raise + escalation, overspeed raise + clear
    assert len(want["dispatch@example.com"]) == 6  # the same raises and escalation, harsh acceleration and braking; no clear
    assert want["dispatch@example.com"] >= want["workshop@example.com"] - {(incident["overspeed"], "cleared")}
    assert notices >= want["dispatch@example.com"]

    def mails(address: str) -> list[tuple[str, str]]:
        return [(m["X-Ticktrack-Incident-Id"], m["X-Ticktrack-Incident-State"]) for rcpt, m in list(mailbox.messages)
                if address in rcpt]

    manager = User("manager", "fleet_manager", hash_password("lifecycle-password", 4), fleets=(fleet,))
    with ExitStack() as stack:
        stack.enter_context(kafka_topics(s, *t.values()))
        stack.enter_context(kafka_topics(s, config_topic, acks_topic, partitions=1, config={"cleanup.policy": "compact"}))
        ingest = stack.enter_context(running_flow("dataflows.fleet_ingest:build_flow()", env))
        flows = (ingest, stack.enter_context(running_flow("dataflows.fleet_analytics:build_flow()", env)),
                 stack.enter_context(running_flow("dataflows.fleet_store:build_flow()", env)))
        ingest.wait_for_log('"event": "mqtt_subscribed"', timeout_s=DEADLINE_S)
        stack.enter_context(notifier(notifier_env))
        publish(s.mqtt_url, messages)

        wait_for("every e-mail", lambda: {a: mails(a) for a in want},
                 lambda got: all(len(got[a]) >= len(ids) for a, ids in want.items()), flows)
        wait_for("the notifier committed every alert", lambda: all_committed(s, run, t["alerts"]), bool, flows)
        for address, ids in want.items():
            got = mails(address)
            assert len(got) == len(ids) and set(got) == ids, f"{address}: one e-mail per incident notice, none twice"
        assert Counter(mails("workshop@example.com")) == Counter(
            {(incident["battery_low"], "raised"): 1, (coolant_id, "raised"): 1, (coolant_id, "escalated"): 1,
             (incident["overspeed"], "raised"): 1, (incident["overspeed"], "cleared"): 1})
        assert (incident["overspeed"], "cleared") not in mails("dispatch@example.com"), "no clear without notify_cleared"
        escalation = next(m for _, m in mailbox.messages if m["X-Ticktrack-Incident-State"] == "escalated")
        assert escalation["Subject"] == f"[ticktrack] critical coolant_high {van} (escalated)"
        assert f"Incident: {coolant_id} (escalated)" in escalation.get_content()

        # The dashboard: every incident of the run stored, the open critical one (the escalated coolant) first.
        scope = scope_for(manager)

        def listed() -> Any:
            data._run_live.clear()
            data.run_history.clear()
            return incidents(data.alerts(scope, timedelta(hours=24), None, 5000), ack_store.cached_acks())

        monkeypatch.setenv("DASHBOARD_ACKS_TOPIC", acks_topic)
        ours = {a["incident_id"] for a in engine}
        before = wait_for("the dashboard's incidents", listed, lambda df: set(df["incident_id"]) == ours, flows)
        assert len(before) == len(ours)
        assert before.iloc[0]["incident_id"] == coolant_id and before.iloc[0]["severity"] == "critical"
        assert before.iloc[0]["state"] == "escalated" and before.iloc[0]["acked_by"] == ""
        assert not before.set_index("incident_id").loc[incident["overspeed"], "open"]

        ack = ack_store.acknowledge(coolant_id, van, manager.name, "driver stopped, engine off")  # the page's call
        assert ack_store.read_acks(s.kafka_config(), acks_topic)[coolant_id] == ack  # another dashboard's reader
        after = wait_for("the acknowledgement on the dashboard", listed,
                         lambda df: df.set_index("incident_id").loc[coolant_id, "acked_by"] == "manager", flows)
        row = after.set_index("incident_id").loc[coolant_id]
        assert row["open"] and row["severity"] == "critical" and row["state"] == "escalated"
        open_rows = after[after["open"]]
        assert list(open_rows["incident_id"])[-1] == coolant_id, "acknowledged: after every unacknowledged open incident"
        assert (open_rows["acked_by"] == "").sum() == len(open_rows) - 1
        assert len(mails("dispatch@example.com")) == len(want["dispatch@example.com"]), "an acknowledgement sends nothing"
