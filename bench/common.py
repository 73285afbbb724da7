"""What every benchmark shares besides its figures: the machine, the command, process and
machine CPU, the guard that keeps flows on the run's own topics, and where the JSON result goes
(var/bench/<name>-<time>.json)."""

from __future__ import annotations

import json
import os
import platform
import pwd
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    """CPU model and count, memory, Python - so a figure is never read without its machine."""
    def first(path: str, key: str) -> str:
        try:
            return next(line.split(":", 1)[1].strip() for line in open(path) if line.startswith(key))
        except (OSError, StopIteration):
            return ""
    mem_kb = first("/proc/meminfo", "MemTotal").split()[0] if first("/proc/meminfo", "MemTotal") else "0"
    return {"cpu": first("/proc/cpuinfo", "model name"), "cpus": os.cpu_count(), "mem_gb": round(int(mem_kb) / 1e6, 1),
            "python": platform.python_version(), "platform": platform.platform()}


def proc_cost(pid: int) -> dict[str, float]:
    """CPU seconds used so far and peak resident memory (MB) of a running process."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        cpu_s = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        hwm = next(int(row.split()[1]) for row in open(f"/proc/{pid}/status") if row.startswith("VmHWM"))
        return {"cpu_s": round(cpu_s, 2), "peak_rss_mb": round(hwm / 1024, 1)}
    except (OSError, StopIteration, IndexError, ValueError):
        return {"cpu_s": float("nan"), "peak_rss_mb": float("nan")}


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Add command, machine and time; write var/bench/<name>-<time>.json."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result = {"benchmark": name, "command": " ".join([Path(sys.executable).name, *sys.argv]),
              "machine": machine(), "utc": stamp, **result}
    out = REPO / "var" / "bench" / f"{name}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    return out


def topic_settings(env: dict[str, str], *settings_classes: type) -> dict[str, str]:
    """Every Kafka topic the flows configured by ``settings_classes`` would use under ``env``.

    Read from the classes' own fields (every field named ``*_topic``, with its env prefix), so a
    topic setting added to a flow later is checked too, not only the ones the bench knows about."""
    out: dict[str, str] = {}
    lowered = {k.lower(): v for k, v in env.items()}
    for cls in settings_classes:
        prefix = cls.model_config.get("env_prefix", "")
        for name, field in cls.model_fields.items():
            if name.endswith("_topic"):
                key = f"{prefix}{name}"
                out[key.upper()] = lowered.get(key.lower(), field.default)
    return out


def require_own_topics(env: dict[str, str], run: str, *settings_classes: type) -> None:
    """Refuse to start when any flow topic is not one of this run's (``<run>.*``, ``<run>-*``): a benchmark never
    reads or writes the demo's topics (fleet.*, crypto.*), whatever the defaults become."""
    # an empty topic setting is an output the flow does not publish (e.g. ANALYTICS_STOPS_TOPIC): no one's topic
    foreign = {k: v for k, v in topic_settings(env, *settings_classes).items()
               if v != "" and not str(v).startswith((f"{run}.", f"{run}-"))}
    if foreign:
        raise SystemExit(f"bench: refusing to start flows on topics that are not this run's ({run}.* / {run}-*): {foreign}")


def service_pids() -> dict[str, int]:
    """Pids of the shared stack's services (var/run/<name>.pid, written by services/stack.sh), read only."""
    pids = {}
    for name in ("mosquitto", "kafka", "influxdb"):
        try:
            pids[name] = int((REPO / "var" / "run" / f"{name}.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return pids


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


class CpuMeter:
    """CPU cores used between ``start()`` and ``stop()`` by named processes and by the whole machine.

    The machine figure includes everything else running (other engineers' tests share the
    cores), so ``machine - sum(named)`` says how busy the rest of the machine was meanwhile."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._t0 = 0.0
        self._before: dict[str, float] = {}

    def _sample(self) -> dict[str, float]:
        return {**{n: proc_cost(p)["cpu_s"] for n, p in self.pids.items()}, "machine": machine_busy_s()}

    def start(self) -> None:
        self._t0, self._before = time.monotonic(), self._sample()

    def stop(self) -> dict[str, float]:
        wall, after = time.monotonic() - self._t0, self._sample()
        return {n: round((after[n] - self._before[n]) / wall, 2) for n in after if n in self._before}


class PrivateMosquitto:
    """A Mosquitto of the bench's own, started by ``services/stack.sh up mosquitto`` from the repo's
    template (same binary and settings as the shared one) in ``var_dir`` on a free port.

    Why not the shared broker: every ingest session subscribed there (other people's running
    tests, and persistent sessions of finished runs, which queue up to 200,000 messages each for a
    day) would get a copy of the bench's fleet/+/telemetry traffic, and the bench's ingest would
    ingest theirs. ``autosave_interval``: instead of the template's save after every change
    (``autosave_on_changes true``, ``autosave_interval 1``), save every N seconds - the setting
    before 2026-12-01, to tell the broker's share of a figure from the flows'. Then the bench
    renders the template itself and starts the binary the way stack.sh does. Stopped by its pid."""

    def __init__(self, var_dir: Path, autosave_interval: int | None = None) -> None:
        self.var_dir = var_dir
        self.autosave_interval = autosave_interval
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen | None = None

    def _stack(self, command: str) -> None:
        env = {**os.environ, "TICKTRACK_VAR": str(self.var_dir), "MQTT_PORT": str(self.port), "MQTT_AUTH": "off"}
        res = subprocess.run([str(REPO / "services" / "stack.sh"), command, "mosquitto"], env=env,
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise SystemExit(f"bench: private mosquitto {command} failed:\n{res.stderr[-2000:]}")

    def config(self) -> str:
        """The repo's template filled in like stack.sh does, with the autosave override."""
        text = (REPO / "services" / "mosquitto" / "mosquitto.conf.tmpl").read_text()
        text = (text.replace("@VAR@", str(self.var_dir)).replace("@PORT@", str(self.port)).replace("@HOST@", "127.0.0.1")
                .replace("@USER@", pwd.getpwuid(os.getuid()).pw_name))
        lines = [ln for ln in text.splitlines() if not ln.startswith(("autosave_on_changes", "autosave_interval"))]
        return "\n".join([*lines, "autosave_on_changes false", f"autosave_interval {self.autosave_interval}", ""])

    @property
    def pid(self) -> int:
        if self._proc is not None:
            return self._proc.pid
        return int((self.var_dir / "run" / "mosquitto.pid").read_text().split()[0])

    def __enter__(self) -> PrivateMosquitto:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        if self.autosave_interval is None:
            self._stack("up")
            return self
        for sub in ("mosquitto/data", "logs"):
            (self.var_dir / sub).mkdir(parents=True, exist_ok=True)
        conf = self.var_dir / "mosquitto" / "mosquitto.conf"
        conf.write_text(self.config())
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self._proc = subprocess.Popen([binary, "-c", str(conf)], stdout=open(self.var_dir / "logs" / "mosquitto.out", "ab"),
                                      stderr=subprocess.STDOUT, start_new_session=True)
        check = subprocess.run([sys.executable, str(REPO / "services" / "check_ready.py"), "mqtt", self.url],
                               capture_output=True, text=True, timeout=120)
        if check.returncode != 0:
            self.__exit__()
            raise SystemExit(f"bench: private mosquitto does not answer:\n{check.stderr[-2000:]}")
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._proc is None:
            self._stack("down")
            return
        self._proc.terminate()
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
