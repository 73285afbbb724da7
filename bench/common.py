"""What every benchmark reports besides its figures: the machine, the command, process costs,
and where the JSON result goes (var/bench/<name>-<time>.json)."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
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
        hwm = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM"))
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
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    result = {"benchmark": name, "command": " ".join([Path(sys.executable).name, *sys.argv]),
              "machine": machine(), "utc": stamp, **result}
    out = REPO / "var" / "bench" / f"{name}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    return out
