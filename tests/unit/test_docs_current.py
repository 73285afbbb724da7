"""The configuration page is generated from the settings classes; it must be current."""

import subprocess
import sys

from settings.stack import REPO_ROOT


def test_configuration_doc_is_current() -> None:
    result = subprocess.run([sys.executable, "scripts/config_doc.py", "--check"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
