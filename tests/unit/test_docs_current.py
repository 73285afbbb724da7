"""The configuration page is generated from the settings classes; it must be current."""

import subprocess
import sys

from settings.stack import REPO_ROOT


def test_configuration_doc_is_current() -> None:
    result = subprocess.run([sys.executable, "scripts/config_doc.py", "--check"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_alert_type_is_documented() -> None:
    """docs/alerts.md has a row for each type of contracts.alert.ALERT_TYPES."""
    from contracts.alert import ALERT_TYPES

    rows = [line for line in (REPO_ROOT / "docs" / "alerts.md").read_text().splitlines() if line.startswith("| `")]
    missing = [t for t in ALERT_TYPES if not any(f"`{t}`" in row.split(" | ")[0] for row in rows)]
    assert missing == []
