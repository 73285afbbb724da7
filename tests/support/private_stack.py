"""Private service instances for fault tests: started by services/stack.sh with their own
data folder and ports, so a test can stop, restart or kill them without disturbing the
shared stack other tests use."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from settings.stack import REPO_ROOT

STACK = REPO_ROOT / "services" / "stack.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_block(n: int) -> int:
    """A first port such that it and the n-1 after it are free (a Kafka cluster's nodes)."""
    for _ in range(50):
        base = free_port()
        try:
            socks = []
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no block of {n} free ports")


@dataclass
class PrivateStack:
    """One private set of services in ``var_dir``; ports chosen free at creation."""

    var_dir: Path
    mqtt_port: int
    kafka_port: int
    kafka_controller_port: int
    influx_port: int
    kafka_nodes: int = 1
    extra_env: dict[str, str] | None = None

    @classmethod
    def create(cls, var_dir: Path, kafka_nodes: int = 1) -> PrivateStack:
        return cls(var_dir, free_port(), free_port_block(kafka_nodes), free_port_block(kafka_nodes), free_port(), kafka_nodes)

    def _env(self) -> dict[str, str]:
        return {**os.environ, "TICKTRACK_VAR": str(self.var_dir), "MQTT_PORT": str(self.mqtt_port),
                "KAFKA_PORT": str(self.kafka_port), "KAFKA_CONTROLLER_PORT": str(self.kafka_controller_port),
                "INFLUX_PORT": str(self.influx_port), "KAFKA_NODES": str(self.kafka_nodes), **(self.extra_env or {})}

    def run(self, command: str, *services: str, script: Path = STACK) -> str:
        """Run services/stack.sh (or another script of services/) against this private stack."""
        result = subprocess.run([str(script), command, *services], env=self._env(), capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise AssertionError(f"{script.name} {command} {' '.join(services)} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def up(self, *services: str) -> None:
        self.run("up", *services)

    def down(self, *services: str) -> None:
        self.run("down", *services)

    def pid(self, service: str) -> int:
        return int((self.var_dir / "run" / f"{service}.pid").read_text())

    def kill9(self, service: str) -> None:
        """Crash a service (SIGKILL), as a power loss would."""
        pid = self.pid(service)
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    @property
    def kafka_bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.kafka_port + i}" for i in range(self.kafka_nodes))

    @property
    def influx_url(self) -> str:
        return f"http://127.0.0.1:{self.influx_port}"

    def stack_env(self) -> dict[str, str]:
        path = self.var_dir / "stack.env"
        return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))

    def credentials(self) -> dict[str, str]:
        path = self.var_dir / "influxdb" / "credentials.env"
        return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
