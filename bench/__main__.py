"""Run ticktrack's benchmarks: ``python -m bench [fleet|peers|crypto|dashboard|all]`` (default all).

Each benchmark is a module of its own with ``--help``; this runs them one after the other with
their defaults, against the services of ``services/stack.sh up``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from bench.common import REPO

BENCHMARKS = {
    "fleet": ["-m", "bench.fleet_end_to_end"],
    "peers": ["bench/processing_peers.py"],
    "crypto": ["bench/crypto_pipeline.py"],
    "dashboard": ["bench/dashboard_render.py"],
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", nargs="*", default=["all"], choices=[*BENCHMARKS, "all"], help="benchmarks to run [all]")
    args = ap.parse_args(argv)
    names = list(BENCHMARKS) if "all" in args.which else args.which
    failed = []
    for name in names:
        print(f"\n=== bench {name}: {' '.join(BENCHMARKS[name])}", flush=True)
        if subprocess.run([sys.executable, *BENCHMARKS[name]], cwd=REPO).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
