"""Which command this process is: the ``service`` and ``flow`` of its log lines and metrics."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from settings.stack import REPO_ROOT


def process_origin(argv: list[str] | None = None) -> tuple[str, str | None]:
    """(service, flow) of this process, from ``TICKTRACK_SERVICE`` / ``TICKTRACK_FLOW`` or the command line."""
    argv = sys.argv if argv is None else argv
    service, flow = "python", None
    main = Path(argv[0]) if argv and argv[0] else None
    if main is not None and main.parts[-2:] == ("bytewax", "run.py") and len(argv) > 1:
        service, flow = "flow", argv[1].split(":", 1)[0].rsplit(".", 1)[-1]
    elif main is not None and main.suffix == ".py":
        try:
            rel = main.resolve().relative_to(REPO_ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__main__" else rel.parts
            service = ".".join(parts) or main.stem
        except ValueError:
            service = main.stem
    elif main is not None:
        service = main.name
    return os.environ.get("TICKTRACK_SERVICE", service), os.environ.get("TICKTRACK_FLOW", flow)
