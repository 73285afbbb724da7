"""Recipients file: validation errors name file and key; resolve is pure and deduplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notifier.recipients import EMAIL, WEBHOOK, Delivery, RecipientsError, load_recipients, parse_recipients, resolve
from settings.stack import REPO_ROOT

DOC = {
    "$comment": "test",
    "recipients": {
        "ops": {"webhooks": ["https://ops.example/hook"], "min_severity": "warning"},
        "dispatch": {"emails": ["dispatch@example.com"], "webhooks": [{"url": "http://d.example/h", "headers": {"Authorization": "Bearer x"}}]},
        "workshop": {"emails": ["workshop@example.com"], "types": ["dtc", "maintenance_due"]},
        "parents": {"emails": ["parent@example.com", "dispatch@example.com"], "exclude_types": ["refuel"]},
    },
    "fleets": {"vans": ["dispatch", "workshop"]},
    "vehicles": {"car-1": "parents", "van-1": ["parents"]},
    "all": ["ops"],
}


def alert(**over: object) -> dict:
    base = {"alert_id": "a1", "vehicle_id": "van-1", "fleet_id": "vans", "type": "overspeed", "severity": "warning"}
    return {**base, **over}


def targets(deliveries: list[Delivery]) -> set[tuple[str, str]]:
    return {(d.channel, d.target) for d in deliveries}


def test_resolve_all_fleet_and_vehicle_recipients() -> None:
    cfg = parse_recipients(DOC)
    got = resolve(cfg, alert())
    assert targets(got) == {(WEBHOOK, "https://ops.example/hook"), (WEBHOOK, "http://d.example/h"),
                            (EMAIL, "dispatch@example.com"), (EMAIL, "parent@example.com")}
    assert got == sorted(got), "deterministic order"


def test_same_target_through_two_recipients_is_one_delivery() -> None:
    got = resolve(parse_recipients(DOC), alert())
    (shared,) = [d for d in got if d.target == "dispatch@example.com"]
    assert shared.recipients == ("dispatch", "parents")


def test_webhook_headers_are_kept() -> None:
    (d,) = [d for d in resolve(parse_recipients(DOC), alert()) if d.target == "http://d.example/h"]
    assert d.headers == (("Authorization", "Bearer x"),)


def test_min_severity_filter() -> None:
    cfg = parse_recipients(DOC)
    assert (WEBHOOK, "https://ops.example/hook") not in targets(resolve(cfg, alert(severity="info")))
    assert (WEBHOOK, "https://ops.example/hook") in targets(resolve(cfg, alert(severity="critical")))


def test_unknown_or_missing_severity_is_never_silenced() -> None:
    cfg = parse_recipients(DOC)
    assert (WEBHOOK, "https://ops.example/hook") in targets(resolve(cfg, alert(severity="apocalyptic")))
    assert (WEBHOOK, "https://ops.example/hook") in targets(resolve(cfg, {k: v for k, v in alert().items() if k != "severity"}))


def test_type_filters() -> None:
    cfg = parse_recipients(DOC)
    assert (EMAIL, "workshop@example.com") in targets(resolve(cfg, alert(type="dtc")))
    assert (EMAIL, "workshop@example.com") not in targets(resolve(cfg, alert(type="overspeed")))
    refuel = targets(resolve(cfg, alert(type="refuel")))
    assert (EMAIL, "parent@example.com") not in refuel
    assert (EMAIL, "dispatch@example.com") in refuel, "still wanted by 'dispatch'"


def test_unknown_vehicle_and_fleet_get_only_all() -> None:
    got = resolve(parse_recipients(DOC), alert(vehicle_id="ghost", fleet_id=None))
    assert targets(got) == {(WEBHOOK, "https://ops.example/hook")}


def test_extra_fields_do_not_matter() -> None:
    assert resolve(parse_recipients(DOC), alert(extra={"x": 1}, details={"a": 2})) == resolve(parse_recipients(DOC), alert())


@pytest.mark.parametrize(("mutate", "key"), [
    (lambda d: d.update(vehicle={}), "vehicle: unknown key"),
    (lambda d: d["recipients"]["ops"].update(webhook=["https://x"]), "recipients.ops.webhook: unknown key"),
    (lambda d: d["recipients"]["ops"].update(min_severity="high"), "recipients.ops.min_severity"),
    (lambda d: d["recipients"]["ops"].update(webhooks=["ftp://x"]), "recipients.ops.webhooks[0]: 'ftp://x' is not an http(s) URL"),
    (lambda d: d["recipients"]["dispatch"].update(emails=["no-at-sign"]), "recipients.dispatch.emails[0]"),
    (lambda d: d["recipients"]["dispatch"].update(emails=["a@b.c\nBcc: x@y.z"]), "recipients.dispatch.emails[0]"),
    (lambda d: d["recipients"]["ops"].update(webhooks=[]), "recipients.ops: has neither webhooks nor emails"),
    (lambda d: d["fleets"].update(vans=["dispatch", "nobody"]), "fleets.vans[1]: unknown recipient 'nobody'"),
    (lambda d: d["vehicles"].update({"car-1": 5}), "vehicles.car-1: expected a recipient name"),
    (lambda d: d.update(all="ghost"), "all[0]: unknown recipient 'ghost'"),
    (lambda d: d["recipients"]["workshop"].update(types="dtc"), "recipients.workshop.types: expected a list"),
    (lambda d: d["recipients"]["workshop"].update(types=["dtc", "ignition-on"]),
     "recipients.workshop.types[1]: unknown alert type 'ignition-on' (known: overspeed, "),
    (lambda d: d["recipients"]["ops"].update(exclude_types=["motion_start"]), "recipients.ops.exclude_types[0]: unknown alert type"),
    (lambda d: d["recipients"]["dispatch"]["webhooks"][0]["headers"].update(X="a\r\nb"), "headers.X"),
])
def test_invalid_file_names_file_and_key(tmp_path: Path, mutate, key: str) -> None:
    doc = json.loads(json.dumps(DOC))
    mutate(doc)
    path = tmp_path / "recipients.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(RecipientsError) as exc:
        load_recipients(path)
    assert str(exc.value).startswith(f"{path}: ")
    assert key in str(exc.value)


def test_not_json_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "r.json"
    bad.write_text('{"recipients": {,}}')
    with pytest.raises(RecipientsError, match=r"r\.json: not valid JSON at line 1 column"):
        load_recipients(bad)
    with pytest.raises(RecipientsError, match=r"missing\.json: recipients file not found"):
        load_recipients(tmp_path / "missing.json")


def test_example_file_is_valid() -> None:
    cfg = load_recipients(REPO_ROOT / "config" / "recipients.json")
    assert cfg.recipients and cfg.has_channel(EMAIL) and cfg.has_channel(WEBHOOK)


def test_cleared_records_only_for_recipients_who_ask() -> None:
    doc = {"recipients": {"ops": {"webhooks": ["https://ops.example/hook"], "min_severity": "critical", "notify_cleared": True},
                          "dispatch": {"emails": ["dispatch@example.com"]},
                          "tires": {"emails": ["tires@example.com"], "notify_cleared": True, "types": ["tire_pressure_low"]}},
           "all": ["ops", "dispatch", "tires"]}
    cfg = parse_recipients(doc)
    raised = alert(type="tire_pressure_low", state="raised", incident_id="a1")
    assert targets(resolve(cfg, raised)) == {(EMAIL, "dispatch@example.com"), (EMAIL, "tires@example.com")}
    cleared = alert(alert_id="a2", type="tire_pressure_low", severity="info", state="cleared", incident_id="a1",
                    details={"incident_severity": "warning"})
    assert targets(resolve(cfg, cleared)) == {(EMAIL, "tires@example.com")}  # ops: its incident never reached critical
    cleared_critical = {**cleared, "details": {"incident_severity": "critical"}}
    assert targets(resolve(cfg, cleared_critical)) == {(WEBHOOK, "https://ops.example/hook"), (EMAIL, "tires@example.com")}
    old_record = {k: v for k, v in alert().items()}  # no state: an alert as before incidents, sent as before
    assert targets(resolve(cfg, old_record)) == {(EMAIL, "dispatch@example.com")}
    with pytest.raises(RecipientsError, match=r"recipients.ops.notify_cleared: expected true or false"):
        parse_recipients({"recipients": {"ops": {"emails": ["a@b.example"], "notify_cleared": "yes"}}})
