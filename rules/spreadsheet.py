"""Spreadsheet formula injection: text cells that Excel / LibreOffice would run as a formula.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula when a CSV or XLSX file is opened (an alert message ``=cmd|...`` from a device); OWASP's
advice is to prefix it with ``'``, which the spreadsheet shows as text. The dashboard's CSV
downloads and the report files (``jobs.fleet_report_files``) both use ``spreadsheet_safe``.
"""

from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """``value`` with ``'`` in front when it is text a spreadsheet would run; anything else unchanged."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else value


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every formula-like text cell prefixed (``safe_cell``); numbers untouched."""
    safe = df.copy()
    for col in safe.columns:
        if safe[col].dtype == object or pd.api.types.is_string_dtype(safe[col]):
            safe[col] = [safe_cell(v) for v in safe[col]]
    return safe
