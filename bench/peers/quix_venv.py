"""The separate venv of the Quix Streams peer, made or refreshed from ``requirements-quix.txt``.

Why separate: quixstreams pins confluent-kafka / pydantic below the project's versions, so it
cannot live in ``.venv``. The project's own modules import fine with those versions (the
bench checks that before it measures). A stamp with the requirements' hash avoids reinstalling.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv-bench-quix"
REQUIREMENTS = Path(__file__).with_name("requirements-quix.txt")
# every project module bench/peers/quix_fleet_rules.py imports (a missing one failed the peer only after the input was produced)
CHECK = ("import quixstreams, contracts.avro, contracts.deadletter, contracts.line_protocol, contracts.telemetry, "
         "dataflows.live_registry, rules.fleet.engine, rules.fleet.registry, rules.fleet.stats, settings.errors, settings.flows, "
         "settings.logs, settings.rules_env, settings.stack, sinks.influx_points.fleet_analytics, sources.kafka_table; "
         "print(quixstreams.__version__)")


def quix_python() -> Path:
    """Python of the Quix venv, created or updated when the requirements changed."""
    py = VENV / "bin" / "python"
    stamp = VENV / ".requirements.sha256"
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not py.exists() or not stamp.exists() or stamp.read_text().strip() != want:
        print(f"[bench] installing {REQUIREMENTS.relative_to(REPO)} into {VENV.name} (once)", file=sys.stderr)
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True)
        stamp.write_text(want + "\n")
    return py


def quix_version(py: Path) -> str:
    """Import the project's modules the peer uses with the venv's versions; the quixstreams version."""
    res = subprocess.run([str(py), "-W", "ignore", "-c", CHECK], cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"the project's modules do not import in {VENV.name}:\n{res.stderr[-2000:]}")
    return res.stdout.strip()
