"""Least privilege in InfluxDB: the dashboard's token reads but cannot write; the writers'
token writes both buckets but cannot administer the org.

The tokens are the ones ``services/stack.sh up`` wrote to var/stack.env (the test session points
its own INFLUX_*_TOKEN at the operator token for its per-run buckets). The two ``token_check``
points written into the demo's buckets are deleted again (exact clean-up)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from dotenv import dotenv_values
from influxdb_client import InfluxDBClient

from settings.stack import StackSettings, stack_env_path
from tests.support.services import require_stack

pytestmark = pytest.mark.integration


def status(method: str, url: str, token: str, body: bytes) -> int:
    req = urllib.request.Request(url, data=body, method=method, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def stack_tokens() -> StackSettings:
    """The settings as the stack wrote them, whatever the test session's environment says."""
    file = {k.lower(): v for k, v in dotenv_values(stack_env_path()).items() if v is not None}
    return StackSettings.model_validate({**require_stack().model_dump(), **file})


def test_reader_cannot_write_and_writer_cannot_administer() -> None:
    s = stack_tokens()
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

    try:
        assert status("POST", write.format("fleet"), s.influx_write_token, line) == 204
        assert status("POST", write.format("crypto"), s.influx_write_token, line) == 204
    finally:
        with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org) as c:
            for bucket in ("fleet", "crypto"):
                c.delete_api().delete("1970-01-01T00:00:00Z", "2100-01-01T00:00:00Z", '_measurement="token_check"',
                                      bucket=bucket, org=s.influx_org)
    orgs = urllib.request.Request(f"{s.influx_url}/api/v2/orgs?org={s.influx_org}", headers={"Authorization": f"Token {s.influx_token}"})
    with urllib.request.urlopen(orgs, timeout=10) as resp:
        org_id = json.load(resp)["orgs"][0]["id"]
    bucket = json.dumps({"orgID": org_id, "name": "should-not-exist"}).encode()
    assert status("POST", f"{s.influx_url}/api/v2/buckets", s.influx_write_token, bucket) in (401, 403, 404)
