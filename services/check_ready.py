"""Readiness checks and one-time setup for services/stack.sh (run with the project's Python).

  check_ready.py mqtt URL                      connect and disconnect (URL "-": read it from stdin,
                                               so a password in it is not on the command line)
  check_ready.py kafka BOOTSTRAP               an admin client describes the cluster
  check_ready.py topics BOOTSTRAP              create ticktrack's topics (settings/topics.py)
  check_ready.py influxdb URL CREDENTIALS_FILE /health, onboarding, tokens, retention, a write
  check_ready.py http URL                      GET answers 2xx (VictoriaLogs, Prometheus, Alertmanager)

Each waits up to a deadline and exits non-zero with a message saying what did not answer.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

DEADLINE_S = float(os.environ.get("TICKTRACK_READY_TIMEOUT", "90"))


def fail(msg: str) -> None:
    print(f"[check_ready] {msg}", file=sys.stderr)
    sys.exit(1)


def wait_for(what: str, probe) -> object:
    """Call probe() until it returns a value or the deadline passes; remember the last error."""
    end = time.monotonic() + DEADLINE_S
    last: Exception | None = None
    while time.monotonic() < end:
        try:
            return probe()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last = exc
            time.sleep(0.5)
    fail(f"{what} did not answer within {DEADLINE_S:.0f}s: {last}")


def check_mqtt(url: str) -> None:
    import paho.mqtt.client as mqtt

    parsed = urlparse(url)

    def probe() -> bool:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if parsed.username:
            client.username_pw_set(parsed.username, parsed.password)
        result: list = []
        client.on_connect = lambda _c, _u, _f, reason, _p: result.append(reason)
        client.connect(parsed.hostname or "127.0.0.1", parsed.port or 1883, keepalive=5)
        client.loop_start()
        deadline = time.monotonic() + 5
        while not result and time.monotonic() < deadline:
            time.sleep(0.05)
        client.disconnect()
        client.loop_stop()
        if not result or result[0].is_failure:
            raise RuntimeError(f"CONNACK: {result[0] if result else 'none'}")
        return True

    safe = url.replace(f":{parsed.password}@", ":***@") if parsed.password else url
    wait_for(f"MQTT broker at {safe}", probe)
    print(f"[check_ready] mqtt ok: {safe}", file=sys.stderr)


def write_secret_file(path: Path, text: str) -> None:
    """Write a file of secrets that is mode 600 from its creation on, replaced atomically.

    ``mkstemp`` creates the temporary file with O_EXCL and mode 600 before a byte is written;
    writing into an existing file instead would keep whatever mode it had while the secret
    lands in it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def check_kafka(bootstrap: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 2})

    def probe() -> int:
        cluster = admin.describe_cluster(request_timeout=5).result(timeout=10)
        if not cluster.nodes:
            raise RuntimeError("no broker in cluster description")
        return len(cluster.nodes)

    nodes = wait_for(f"Kafka at {bootstrap}", probe)
    print(f"[check_ready] kafka ok: {bootstrap}, {nodes} broker(s)", file=sys.stderr)


def create_topics(bootstrap: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    from settings.topics import ALL_TOPICS

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 2})
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [NewTopic(t.name, t.partitions, 1, config=t.config) for t in ALL_TOPICS if t.name not in existing]
    for name, fut in (admin.create_topics(wanted) if wanted else {}).items():
        fut.result(timeout=30)
        print(f"[check_ready] topic created: {name}", file=sys.stderr)


def _http(method: str, url: str, token: str | None = None, body: object | None = None) -> object:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Token {token}")
    if body is not None and not isinstance(body, bytes):
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def _retention(days: int) -> list[dict]:
    return [{"type": "expire", "everySeconds": days * 86400}] if days > 0 else []


def check_influxdb(url: str, credentials: Path) -> None:
    wait_for(f"InfluxDB /health at {url}", lambda: _http("GET", f"{url}/health"))
    creds: dict[str, str] = {}
    if credentials.exists():
        creds = dict(line.split("=", 1) for line in credentials.read_text().splitlines() if "=" in line)
    allowed = _http("GET", f"{url}/api/v2/setup")["allowed"]
    if allowed:
        token = secrets.token_urlsafe(32)
        _http("POST", f"{url}/api/v2/setup", body={
            "username": "ticktrack", "password": secrets.token_urlsafe(16), "org": "ticktrack",
            "bucket": "fleet", "token": token})
        creds = {"INFLUX_ORG": "ticktrack", "INFLUX_TOKEN": token}
        print("[check_ready] influxdb onboarded: org ticktrack, bucket fleet", file=sys.stderr)
    elif "INFLUX_TOKEN" not in creds:
        fail(f"InfluxDB at {url} is set up but {credentials} has no token: remove var/influxdb to start over")
    token = creds["INFLUX_TOKEN"]
    org = _http("GET", f"{url}/api/v2/orgs?org=ticktrack", token)["orgs"][0]
    buckets = {b["name"]: b for b in _http("GET", f"{url}/api/v2/buckets?orgID={org['id']}&limit=100", token)["buckets"]}
    for name, env in (("fleet", "FLEET_RETENTION_DAYS"), ("crypto", "CRYPTO_RETENTION_DAYS")):
        try:
            days = int(os.environ.get(env, "0"))
        except ValueError:
            fail(f"{env} must be a whole number of days, got {os.environ.get(env)!r}")
        rules = _retention(days)
        if name not in buckets:
            buckets[name] = _http("POST", f"{url}/api/v2/buckets", token, {"orgID": org["id"], "name": name, "retentionRules": rules})
        elif [r.get("everySeconds") for r in buckets[name].get("retentionRules", [])] != [r["everySeconds"] for r in rules]:
            _http("PATCH", f"{url}/api/v2/buckets/{buckets[name]['id']}", token, {"retentionRules": rules})
        print(f"[check_ready] bucket {name}: retention {days or 'infinite'} days", file=sys.stderr)
    # Separate least-privilege tokens: writers (flows) and the read-only dashboard.
    for key, actions, desc in (("INFLUX_WRITE_TOKEN", ("read", "write"), "ticktrack writers"),
                               ("INFLUX_READ_TOKEN", ("read",), "ticktrack dashboard (read-only)")):
        if key not in creds:
            perms = [{"action": a, "resource": {"type": "buckets", "orgID": org["id"], "id": buckets[n]["id"]}}
                     for n in ("fleet", "crypto") for a in actions]
            auth = _http("POST", f"{url}/api/v2/authorizations", token, {"orgID": org["id"], "description": desc, "permissions": perms})
            creds[key] = auth["token"]
    write_secret_file(credentials, "".join(f"{k}={v}\n" for k, v in creds.items()))
    line = f"ready_check value=1i {time.time_ns()}".encode()
    _http("POST", f"{url}/api/v2/write?org=ticktrack&bucket=fleet&precision=ns", creds["INFLUX_WRITE_TOKEN"], line)
    print(f"[check_ready] influxdb ok: {url} (health, onboarding, write)", file=sys.stderr)


def check_http(url: str) -> None:
    def probe() -> int:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback service URL
            return resp.status

    wait_for(url, probe)


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if argv and argv[0] in ("-h", "--help") else 2)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    kind, target = argv[0], argv[1]
    try:
        if kind == "mqtt":
            check_mqtt(sys.stdin.readline().strip() if target == "-" else target)
        elif kind == "kafka":
            check_kafka(target)
        elif kind == "topics":
            create_topics(target)
        elif kind == "http":
            check_http(target)
        elif kind == "influxdb":
            check_influxdb(target, Path(argv[2]))
        else:
            fail(f"unknown check {kind!r}")
    except urllib.error.HTTPError as exc:
        fail(f"{kind} at {target}: HTTP {exc.code} {exc.read()[:300]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
