"""The access tokens' signing key: a file of 64 random hex digits, mode 600, made on first start.

Never an argument or an environment value (both leak into ``ps`` and logs). A key file that
others may read, or one that is too short, stops the start naming the file.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from settings.errors import ConfigError

MIN_KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``; created (O_EXCL, mode 600) when the file does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago: read theirs
        else:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(MIN_KEY_BYTES) + "\n")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"{path}: the API signing key is readable by others (mode {mode:o}); chmod 600 it")
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 2 * MIN_KEY_BYTES:
        raise ConfigError(f"{path}: the API signing key must have at least {2 * MIN_KEY_BYTES} hex digits")
    return key.encode("ascii")
