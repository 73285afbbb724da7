"""Alert emails: subject format, plain text, device strings cannot inject headers."""

from __future__ import annotations

from email import message_from_bytes, policy

from notifier.channels.email import body, build_message, subject

ALERT = {"alert_id": "abc123", "vehicle_id": "van-01", "fleet_id": "logistics", "type": "overspeed",
         "severity": "warning", "ts": 1_764_064_800_000, "value": 97.5, "threshold": 80.0,
         "lat": 52.52, "lon": 13.405, "geofence_id": "school-zone", "message": "Overspeed 97.5 km/h (limit 80)",
         "details": {"peak_kmh": 101.2}, "extra_field": "ignored"}


def test_subject_format() -> None:
    assert subject(ALERT) == "[ticktrack] warning overspeed van-01"


def test_body_has_the_facts() -> None:
    text = body(ALERT)
    assert text.startswith("Overspeed 97.5 km/h (limit 80)\n")
    for fragment in ("van-01 (fleet logistics)", "2025-11-25 10:00:00 UTC", "97.5 (threshold 80.0)",
                     "52.520000, 13.405000", "school-zone", "peak_kmh: 101.2", "Alert id: abc123"):
        assert fragment in text, fragment


def test_hostile_device_strings_stay_text() -> None:
    evil = {**ALERT, "vehicle_id": "van\r\nBcc: victim@example.com", "message": "<script>x</script>\x1b[31m",
            "type": "dtc\nX-Evil: 1"}
    msg = build_message(evil, "to@example.com", "ticktrack@example.com", "d1")
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]
    assert parsed.get_content_type() == "text/plain"
    assert "\x1b" not in parsed.get_content()
    assert parsed["Message-ID"] == "<d1@example.com>"


def test_missing_fields_do_not_break_the_body() -> None:
    text = body({"alert_id": "x", "vehicle_id": "v", "type": "idle", "ts": "not a number", "lat": None})
    assert "idle" in text and "Alert id: x" in text


def test_incident_is_named_in_subject_headers_and_body() -> None:
    escalated = {**ALERT, "alert_id": "e9", "incident_id": "abc123", "state": "escalated", "severity": "critical"}
    assert subject(escalated) == "[ticktrack] critical overspeed van-01 (escalated)"
    assert subject({**ALERT, "state": "raised", "incident_id": "abc123"}) == subject(ALERT)
    msg = build_message(escalated, "to@example.com", "ticktrack@example.com", "d1")
    assert (msg["X-Ticktrack-Incident-Id"], msg["X-Ticktrack-Incident-State"]) == ("abc123", "escalated")
    assert "Incident: abc123 (escalated)" in body(escalated) and "Alert id: e9" in body(escalated)
    legacy = build_message(ALERT, "to@example.com", "ticktrack@example.com", "d1")
    assert (legacy["X-Ticktrack-Incident-Id"], legacy["X-Ticktrack-Incident-State"]) == ("abc123", "raised")
