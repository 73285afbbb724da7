"""Secret files (signing keys, encryption keys): made once, mode 600, refused when others may read them.

Never an argument or an environment value (both leak into ``ps`` and logs). The file is created
with O_EXCL, so two processes starting at once share the first one's secret.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from settings.errors import ConfigError


def read_or_create_private(path: Path, make: Callable[[], bytes], what: str) -> bytes:
    """The bytes of ``path``, written from ``make()`` (O_EXCL, mode 600) when missing; ``ConfigError``
    naming the file and ``what`` it holds when its mode lets others read it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago: read theirs
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(make())
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"{path}: {what} is readable by others (mode {mode:o}); chmod 600 it")
    return path.read_bytes()
