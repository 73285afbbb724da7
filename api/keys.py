"""The access tokens' signing key: a file of 64 random hex digits, mode 600, made on first start.

Never an argument or an environment value (both leak into ``ps`` and logs). A key file that
others may read, or one that is too short, stops the start naming the file.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from settings.errors import ConfigError
from settings.private_files import read_or_create_private

MIN_KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``; created (O_EXCL, mode 600) when the file does not exist yet."""
    raw = read_or_create_private(path, lambda: (secrets.token_hex(MIN_KEY_BYTES) + "\n").encode("ascii"), "the API signing key")
    key = raw.decode("ascii").strip()
    if len(key) < 2 * MIN_KEY_BYTES:
        raise ConfigError(f"{path}: the API signing key must have at least {2 * MIN_KEY_BYTES} hex digits")
    return key.encode("ascii")
