"""When a peer of the processing benchmark has done all the work, and what it cost.

Exact completion, not "quiet for a while": every input partition starts and ends with a marker
vehicle (``workload.py``). A watcher reads one output topic of the peer live and notes the wall
time of the first start-marker record (the peer is past start-up and consuming) and of the
last end-marker record (every partition went through the rules). For the rules peers one
watcher reads the alerts topic and one the points topic (only ``alerts`` points), and the peer
is done when both saw every end marker, so the time covers the last points write as well. CPU
time of the peer process is sampled at both instants from /proc; peak RSS and total CPU come
from ``wait4`` when the process ends.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from bench.peers.workload import END, START, marker_kind

TICK_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK_S


@dataclass
class Usage:
    returncode: int
    cpu_s: float
    peak_rss_mb: float


class PeerProcess:
    """A peer as a child process whose resource use is read with ``wait4``."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.started = time.monotonic()
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self.log = log

    def _reap(self, block: bool) -> bool:
        """Collect the exit status and rusage once (never via Popen.poll, which would lose the rusage)."""
        if self.proc.returncode is not None:
            return True
        pid, status, usage = os.wait4(self.proc.pid, 0 if block else os.WNOHANG)
        if not pid:
            return False
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self._usage: resource.struct_rusage = usage
        return True

    def alive(self) -> bool:
        return not self._reap(block=False)

    def stop(self, timeout_s: float = 30.0) -> Usage:
        """SIGINT (both Bytewax and Quix shut down cleanly on it), SIGKILL after ``timeout_s``."""
        if not self._reap(block=False):
            self.proc.send_signal(signal.SIGINT)
            deadline = time.monotonic() + timeout_s
            while not self._reap(block=False) and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.proc.returncode is None:
                self.proc.kill()
                self._reap(block=True)
        self._log.close()
        u = self._usage
        return Usage(self.proc.returncode, round(u.ru_utime + u.ru_stime, 2), round(u.ru_maxrss / 1024, 1))


class PeerGroup:
    """A peer made of several processes (a Bytewax cluster: one ``-i`` each), read as one: alive
    while all are, CPU and peak RSS summed over them."""

    def __init__(self, procs: list[PeerProcess]) -> None:
        self.procs = procs
        self.started = min(p.started for p in procs)
        self.pids = [p.proc.pid for p in procs]
        self.proc = procs[0].proc

    def alive(self) -> bool:
        return all(p.alive() for p in self.procs)

    def stop(self, timeout_s: float = 30.0) -> Usage:
        usages = [p.stop(timeout_s) for p in self.procs]
        return Usage(max(u.returncode for u in usages), round(sum(u.cpu_s for u in usages), 2),
                     round(sum(u.peak_rss_mb for u in usages), 1))


def wait_visible(client: Consumer | AdminClient, topic: str, timeout_s: float = 30.0) -> list[int]:
    """Partitions of ``topic`` once its metadata shows every one with a leader.

    Right after ``create_topics`` the metadata can still list a topic without partitions (or
    leaders); a watcher that assigned itself those partitions would never see a record."""
    deadline = time.monotonic() + timeout_s
    while True:
        md = client.list_topics(topic, timeout=10).topics.get(topic)
        if (md is not None and md.error is None and md.partitions
                and all(p.error is None and p.leader >= 0 for p in md.partitions.values())):
            return sorted(md.partitions)
        if time.monotonic() > deadline:
            raise RuntimeError(f"topic {topic} not ready within {timeout_s:.0f} s: {md.error if md else 'absent'}")
        time.sleep(0.1)


class OutputWatch(threading.Thread):
    """Reads a peer's output topic from the beginning and times the start / end markers.

    ``accept``: only records whose value it accepts count (e.g. the ``alerts`` points of a
    points topic, not a marker's health point)."""

    def __init__(self, kafka: dict[str, str], topic: str, partitions: int, pid: int | list[int],
                 accept: Callable[[bytes], bool] | None = None) -> None:
        super().__init__(daemon=True)
        self.kafka, self.topic, self.partitions, self.accept = kafka, topic, partitions, accept
        self.pids = pid if isinstance(pid, list) else [pid]  # CPU summed over a cluster's processes
        self.first_start: float | None = None
        self.cpu_at_start: float | None = None
        self.ends: dict[str, float] = {}
        self.all_ends: float | None = None
        self.cpu_at_end: float | None = None
        self.error: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        c = Consumer({**self.kafka, "group.id": f"{self.topic}-watch", "enable.auto.commit": "false", "log_level": "2",
                      "fetch.wait.max.ms": "20"})
        try:
            c.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in wait_visible(c, self.topic)])
            while not self.done.is_set() and self.all_ends is None:
                for m in c.consume(1000, 0.05):
                    if m.error() is not None or m.key() is None:
                        continue
                    if self.accept is not None and not self.accept(m.value() or b""):
                        continue
                    key = m.key().decode()
                    kind, now = marker_kind(key), time.monotonic()
                    if kind == START and self.first_start is None:
                        self.first_start, self.cpu_at_start = now, self._cpu()
                    elif kind == END and key not in self.ends:
                        self.ends[key] = now
                        if len(self.ends) == self.partitions:
                            self.all_ends, self.cpu_at_end = now, self._cpu()
        except Exception as exc:  # noqa: BLE001 - reported by the bench
            self.error = repr(exc)
        finally:
            c.close()

    def _cpu(self) -> float | None:
        try:
            return sum(cpu_seconds(pid) for pid in self.pids)
        except OSError:
            return None
