"""Run ticktrack's benchmarks: ``python -m bench [fleet|peers|crypto|dashboard|all]`` (default all).

Each benchmark is a module of its own with ``--help``; this runs them one after the other with
their defaults (the fleet one at the rates issue 11's targets name), against the services of
``services/stack.sh up``, then prints each target of issue 11 next to the figure measured in this
run, MET / NOT MET, and the next bottleneck where not met (bench/targets.py). See bench/README.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench.common import REPO
from bench.targets import JUDGES, newest, print_verdicts

BENCHMARKS = {
    # 2,500 and 5,000 msg/s are the rates the targets name; every step is tried
    "fleet": ["-m", "bench.fleet_end_to_end", "--rates", "1000,2500,5000", "--keep-going"],
    "peers": ["bench/processing_peers.py"],
    "crypto": ["bench/crypto_pipeline.py"],
    "dashboard": ["bench/dashboard_render.py"],
}

# the JSON result name (var/bench/<name>-<time>.json) of each benchmark bench/targets.py judges
RESULT_OF = {"fleet": "fleet_end_to_end", "peers": "processing_peers", "crypto": "crypto_pipeline"}
assert set(RESULT_OF.values()) == set(JUDGES)


def selected(argv: list[str] | None = None) -> list[str]:
    """The benchmarks named on the command line, in run order; all of them for none or ``all``.

    Checked by hand, not by argparse ``choices``: with ``nargs="*"`` Python 3.11's argparse checks
    the default list itself against the choices, so a bare ``python -m bench`` (``make bench``) failed."""
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", nargs="*", metavar="{" + ",".join([*BENCHMARKS, "all"]) + "}", help="benchmarks to run [all]")
    which = ap.parse_args(argv).which
    unknown = [w for w in which if w not in BENCHMARKS and w != "all"]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join([*BENCHMARKS, 'all'])}")
    return list(BENCHMARKS) if not which or "all" in which else [n for n in BENCHMARKS if n in which]


def main(argv: list[str] | None = None) -> int:
    names = selected(argv)
    failed = []
    started = time.time()
    for name in names:
        print(f"\n=== bench {name}: {' '.join(BENCHMARKS[name])}", flush=True)
        if subprocess.run([sys.executable, *BENCHMARKS[name]], cwd=REPO).returncode != 0:
            failed.append(name)
    # only the results of the benchmarks run here (another run may write var/bench/ at the same time)
    written = [p for p in (newest(RESULT_OF[n], started) for n in names if n in RESULT_OF) if p is not None]
    if written:
        print_verdicts(written)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
