"""Bad configuration stops a command at start-up with a message naming the key and its source.

Library code raises ``ConfigError``; only entry points (``run_main``) turn it into an exit code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

S = TypeVar("S", bound=BaseSettings)


class ConfigError(ValueError):
    """A setting or configuration file is invalid; the message names the key (and the file)."""


def run_main(main: Callable[[], int | None]) -> int:
    """Run a command's ``main``; a ``ConfigError`` becomes its message on stderr and exit status 2."""
    try:
        return main() or 0
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2


def _source(var: str, env_file: Path | None) -> str:
    if var in os.environ:
        return "the environment"
    if env_file is not None and env_file.exists():
        return str(env_file)
    return "the defaults"


def load_settings(cls: type[S], env_file: Path | None = None) -> S:
    """Instantiate a settings class; on error name every bad variable and where it came from."""
    try:
        return cls(_env_file=env_file) if env_file is not None else cls()
    except ValidationError as exc:
        prefix = cls.model_config.get("env_prefix", "")
        lines = []
        for err in exc.errors():
            var = (prefix + str(err["loc"][0])).upper() if err["loc"] else "?"
            lines.append(f"  {var} (from {_source(var, env_file)}): {err['msg']}")
        raise ConfigError(f"configuration error in {cls.__name__}:\n" + "\n".join(lines)) from None
