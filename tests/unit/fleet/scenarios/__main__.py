"""Regenerate the scenario suite's table in docs/alerts.md:

    .venv/bin/python -m tests.unit.fleet.scenarios          # rewrite the table
    .venv/bin/python -m tests.unit.fleet.scenarios --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[4] / "docs" / "alerts.md"
BEGIN, END = "<!-- scenario-suite:begin -->", "<!-- scenario-suite:end -->"


def render_doc(text: str, table: str) -> str:
    """The doc with the text between the markers replaced by the table."""
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main() -> int:
    from rules.fleet.config import FleetSettings

    from . import catalogue, score

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    drives = catalogue.drives()
    reg = catalogue.registry(drives)
    results = [(d, score.run(d, reg, FleetSettings())) for d in drives]
    table = score.table(results)
    print(table)
    for s in score.score(results).values():
        for line in s.misses + s.false:
            print(f"{s.family}: {'missed' if line in s.misses else 'false'}: {line}", file=sys.stderr)
    text = DOC.read_text()
    new = render_doc(text, table)
    if args.check:
        return 0 if new == text else 1
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
