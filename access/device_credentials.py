"""MQTT device passwords (``MQTT_AUTH=on``): create or rotate a vehicle's, through ``services/mqtt_device.sh``.

One implementation of the broker's password file: the script hashes with ``mosquitto_passwd -U``
from a mode-600 file (the password is never on a command line), rewrites the file under a lock,
refuses service account names and makes the broker reload it (SIGHUP). The devices' listener
forces the client id to the user name and the ACL lets the device publish only to
``fleet/<vehicle_id>/telemetry`` (docs/security.md). A rotation replaces the old password at once.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from settings.stack import REPO_ROOT

SCRIPT = REPO_ROOT / "services" / "mqtt_device.sh"


class DeviceAuthOff(RuntimeError):
    """The broker runs without device passwords (``MQTT_AUTH=off``): there is no password file."""


class DeviceCredentialError(RuntimeError):
    """The script refused the vehicle id or failed; the message is its own."""


@dataclass(frozen=True)
class DeviceCredential:
    username: str
    password: str
    rotated: bool  # a password existed and no longer works


def passwd_file(var_dir: Path) -> Path:
    return var_dir / "mosquitto" / "passwd"


def has_device(var_dir: Path, vehicle_id: str) -> bool:
    path = passwd_file(var_dir)
    if not path.exists():
        return False
    return any(line.split(":", 1)[0] == vehicle_id for line in path.read_text(encoding="utf-8").splitlines())


def issue(var_dir: Path, vehicle_id: str, timeout_s: float = 30.0) -> DeviceCredential:
    """A new password for the vehicle's device (shown once; the broker keeps only its hash)."""
    if not passwd_file(var_dir).exists():
        raise DeviceAuthOff(f"no {passwd_file(var_dir)}: the broker runs with MQTT_AUTH=off (services/stack.sh)")
    existed = has_device(var_dir, vehicle_id)
    password = _script(var_dir, "add", vehicle_id, timeout_s)
    if not password:
        raise DeviceCredentialError("services/mqtt_device.sh printed no password")
    return DeviceCredential(username=vehicle_id, password=password, rotated=existed)


def revoke(var_dir: Path, vehicle_id: str, timeout_s: float = 30.0) -> bool:
    """Remove the device's password (it can no longer connect); False when it had none."""
    if not has_device(var_dir, vehicle_id):
        return False
    _script(var_dir, "remove", vehicle_id, timeout_s)
    return True


def _script(var_dir: Path, command: str, vehicle_id: str, timeout_s: float) -> str:
    """The script's output; its last error line raised when it fails (a reserved name, a bad id, ...)."""
    done = subprocess.run(["bash", str(SCRIPT), command, vehicle_id], capture_output=True, text=True, timeout=timeout_s,
                          env={**os.environ, "TICKTRACK_VAR": str(var_dir)}, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise DeviceCredentialError(lines[-1] if lines else f"services/mqtt_device.sh exit {done.returncode}")
    return done.stdout.strip()
