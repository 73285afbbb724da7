"""Least privilege in InfluxDB: the dashboard's token reads but cannot write; the writers'
token writes both buckets but cannot administer the org."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.support.services import require_stack

pytestmark = pytest.mark.integration


def status(method: str, url: str, token: str, body: bytes) -> int:
    req = urllib.request.Request(url, data=body, method=method, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_reader_cannot_write_and_writer_cannot_administer() -> None:
    s = require_stack()
    assert s.influx_read_token and s.influx_write_token, "stack.sh up creates both tokens"
    assert len({s.influx_token, s.influx_read_token, s.influx_write_token}) == 3
    line = f"token_check v=1 {time.time_ns()}".encode()
    write = f"{s.influx_url}/api/v2/write?org={s.influx_org}&bucket={{}}&precision=ns"
    query = f"{s.influx_url}/api/v2/query?org={s.influx_org}"
    flux = json.dumps({"query": 'from(bucket: "fleet") |> range(start: -1m) |> limit(n: 1)'}).encode()

    assert status("POST", write.format("fleet"), s.influx_read_token, line) in (401, 403, 404)
    assert status("POST", write.format("crypto"), s.influx_read_token, line) in (401, 403, 404)
    req_ok = urllib.request.Request(query, data=flux, method="POST", headers={
        "Authorization": f"Token {s.influx_read_token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req_ok, timeout=10) as resp:
        assert resp.status == 200

    assert status("POST", write.format("fleet"), s.influx_write_token, line) == 204
    assert status("POST", write.format("crypto"), s.influx_write_token, line) == 204
    orgs = urllib.request.Request(f"{s.influx_url}/api/v2/orgs?org={s.influx_org}", headers={"Authorization": f"Token {s.influx_token}"})
    with urllib.request.urlopen(orgs, timeout=10) as resp:
        org_id = json.load(resp)["orgs"][0]["id"]
    bucket = json.dumps({"orgID": org_id, "name": "should-not-exist"}).encode()
    assert status("POST", f"{s.influx_url}/api/v2/buckets", s.influx_write_token, bucket) in (401, 403, 404)
