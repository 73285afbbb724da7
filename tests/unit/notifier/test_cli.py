"""``python -m notifier``: help, config checks that name file and key, explain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from settings.stack import REPO_ROOT


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "notifier", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)


def test_help() -> None:
    out = run("--help")
    assert out.returncode == 0 and "--check" in out.stdout and "docs/notifications.md" in out.stdout


def test_bad_recipients_file_stops_with_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"recipients": {"a": {"emails": ["x@example.com"]}}, "fleets": {"f": ["b"]}}))
    out = run("--check", NOTIFIER_RECIPIENTS_FILE=str(path), NOTIFIER_SMTP_HOST="localhost")
    assert out.returncode != 0
    assert f"{path}: fleets.f[0]: unknown recipient 'b'" in out.stderr and "Traceback" not in out.stderr


def test_email_without_smtp_host_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"recipients": {"a": {"emails": ["x@example.com"]}}, "all": ["a"]}))
    out = run("--check", NOTIFIER_RECIPIENTS_FILE=str(path), NOTIFIER_SMTP_HOST="")
    assert out.returncode != 0 and "NOTIFIER_SMTP_HOST" in out.stderr


def test_bad_setting_names_the_variable() -> None:
    out = run("--check", NOTIFIER_MAX_ATTEMPTS="0")
    assert out.returncode != 0 and "NOTIFIER_MAX_ATTEMPTS" in out.stderr


def test_explain_lists_deliveries(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"recipients": {"a": {"webhooks": ["http://h.example/x"]}}, "vehicles": {"v1": "a"}}))
    alert = json.dumps({"alert_id": "1", "vehicle_id": "v1", "type": "idle", "severity": "info"})
    out = run("--explain", alert, NOTIFIER_RECIPIENTS_FILE=str(path))
    assert out.returncode == 0 and out.stdout.strip() == "webhook\thttp://h.example/x\ta"
