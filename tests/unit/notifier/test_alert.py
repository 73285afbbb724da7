"""Alert records are JSON dicts; only what routing needs is required."""

import pytest

from notifier.alert import InvalidAlert, notice_key, parse_alert, severity_rank
from notifier.service import is_stale


def test_parse_keeps_unknown_fields() -> None:
    a = parse_alert(b'{"alert_id":"a","vehicle_id":"v","type":"idle","new_field":[1,2]}')
    assert a["new_field"] == [1, 2]


@pytest.mark.parametrize(("value", "reason"), [
    (None, "tombstone"), (b"{oops", "not JSON"), (b"\xff\xfe", "not JSON"), (b"[1]", "not a JSON object"),
    (b'{"vehicle_id":"v","type":"idle"}', "alert_id"), (b'{"alert_id":"a","type":"idle","vehicle_id":""}', "vehicle_id"),
    (b'{"alert_id":"a","vehicle_id":"v","type":3}', "type"),
])
def test_invalid_records(value: bytes | None, reason: str) -> None:
    with pytest.raises(InvalidAlert, match=reason):
        parse_alert(value)


def test_severity_rank() -> None:
    assert severity_rank("info") < severity_rank("warning") < severity_rank("critical") == severity_rank("weird") == severity_rank(None)


def test_staleness_by_event_time() -> None:
    now_ms = 1_000_000_000
    assert is_stale({"ts": now_ms - 3_601_000}, 3600, now_ms)
    assert not is_stale({"ts": now_ms - 3_599_000}, 3600, now_ms)
    assert not is_stale({"ts": 0}, 0, now_ms), "0 = no limit"
    assert not is_stale({"ts": "yesterday"}, 3600, now_ms)
    assert not is_stale({}, 3600, now_ms)


def test_notice_key_per_incident_and_state() -> None:
    base = {"alert_id": "a2", "vehicle_id": "v", "type": "coolant_high"}
    assert notice_key({**base, "alert_id": "i1", "incident_id": "i1", "state": "raised"}) == "i1"
    assert notice_key({**base, "incident_id": "i1", "state": "escalated"}) == "i1/escalated"
    assert notice_key({**base, "incident_id": "i1", "state": "cleared"}) == "i1/cleared"
    assert notice_key(base) == "a2"  # written before incidents: its own raise, the key it always had
    assert notice_key({**base, "incident_id": "", "state": None}) == "a2"
    assert notice_key({**base, "incident_id": "i1", "state": "snoozed"}) == "a2"  # unknown state: on its own
