"""Change (or show) the retention of an InfluxDB bucket at runtime.

    python -m jobs.retention --bucket crypto --days 14     # keep 14 days
    python -m jobs.retention --bucket crypto --days 0      # keep forever
    python -m jobs.retention --bucket crypto               # show only

``services/stack.sh up`` sets the retention from CRYPTO_RETENTION_DAYS / FLEET_RETENTION_DAYS on every
start, so change those too if the new value must survive the next ``up``.
"""

from __future__ import annotations

import argparse

from influxdb_client import Bucket, BucketRetentionRules

from jobs.influx_admin import operator_client
from settings.logs import configure_logging


def describe(days_s: int | None) -> str:
    return "infinite" if not days_s else f"{days_s / 86400:g} days"


def current_retention_s(bucket: Bucket) -> int | None:
    rules = bucket.retention_rules or []
    return rules[0].every_seconds if rules else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jobs.retention", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bucket", required=True, help="bucket name, e.g. crypto or fleet")
    ap.add_argument("--days", type=int, help="new retention in whole days (0 = infinite); omit to only show it")
    args = ap.parse_args(argv)
    configure_logging()
    if args.days is not None and args.days < 0:
        ap.error("--days must be >= 0")
    with operator_client() as client:
        api = client.buckets_api()
        bucket = api.find_bucket_by_name(args.bucket)
        if bucket is None:
            raise SystemExit(f"no bucket {args.bucket!r} in org {client.org}")
        before = current_retention_s(bucket)
        if args.days is None:
            print(f"bucket {args.bucket}: retention {describe(before)}")
            return 0
        # every_seconds 0 = keep forever (an empty list would leave the old rule in place)
        bucket.retention_rules = [BucketRetentionRules(type="expire", every_seconds=args.days * 86400)]
        after = current_retention_s(api.update_bucket(bucket))
        print(f"bucket {args.bucket}: retention {describe(before)} -> {describe(after)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
