"""Write docs/configuration.md from the settings classes, so the doc cannot drift.

    python scripts/config_doc.py          # rewrite the doc
    python scripts/config_doc.py --check  # exit 1 when the doc is out of date (run by the tests)
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "configuration.md"
# (module, class) of every settings class a command reads, in the order of the doc
SETTINGS_CLASSES = [
    ("settings.stack", "StackSettings"),
    ("settings.flows", "IngestSettings"),
    ("settings.flows", "StoreSettings"),
    ("settings.flows", "AnalyticsSettings"),
    ("settings.rules_env", "FleetEnv"),
    ("settings.rules_env", "CryptoEnv"),
    ("settings.crypto_flows", "CryptoFlowSettings"),
    ("settings.crypto_flows", "CryptoStoreSettings"),
    ("settings.forecast_flow", "ForecastFlowSettings"),
    ("settings.exchange_health_flow", "ExchangeHealthSettings"),
    ("notifier.config", "NotifierSettings"),
    ("jobs.fleet_report_schedule", "ReportScheduleSettings"),
    ("api.config", "ApiSettings"),
    ("settings.log_shipping", "LogShippingSettings"),
    ("settings.metrics", "MetricsSettings"),
    ("settings.metrics", "PrometheusSettings"),
    ("jobs.ops_exporter", "OpsExporterSettings"),
    ("wallets.config", "WalletSettings"),
]


def render() -> str:
    out = ["# Configuration", "",
           "Every setting comes from the environment; connection settings fall back to `var/stack.env`",
           "(written by `services/stack.sh up`). Generated from the settings classes by",
           "`python scripts/config_doc.py`; a test fails when this page is out of date.", ""]
    for module, name in SETTINGS_CLASSES:
        cls = getattr(importlib.import_module(module), name)
        prefix = cls.model_config.get("env_prefix", "")
        out += [f"## {name} (`{module}`)", "", (cls.__doc__ or "").strip().splitlines()[0], "",
                "| variable | default | meaning |", "|---|---|---|"]
        for field_name, field in cls.model_fields.items():
            default = field.default if field.default is not None else ""
            if isinstance(default, Path) and default.is_relative_to(REPO):  # the same page in every checkout
                default = default.relative_to(REPO)
            out.append(f"| `{(prefix + field_name).upper()}` | `{default}` | {field.description or ''} |")
        out.append("")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only compare, exit 1 when out of date")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    text = render()
    if args.check:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is out of date: run python scripts/config_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
