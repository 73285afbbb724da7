"""Building a PDF report must not flood the logs: fontTools (fpdf2's font subsetting) is held at WARNING."""

from __future__ import annotations

import logging

import pytest

from jobs.fleet_report_files import pdf_bytes
from settings import logs
from tests.unit.jobs.test_fleet_report_files import report  # noqa: F401 - the module's report fixture


def _font_lines(capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, quiet: tuple[str, ...], built: object) -> int:
    monkeypatch.setenv("LOGS_SHIP", "false")
    monkeypatch.setattr(logs, "QUIET_LOGGERS", quiet)
    logging.getLogger("fontTools").setLevel(logging.NOTSET)
    logs.configure_logging(level="INFO", fmt="json")
    capfd.readouterr()
    pdf_bytes(built)  # type: ignore[arg-type]
    return len(capfd.readouterr().err.splitlines())  # JSON lines carry no logger name: every line counts


def test_a_pdf_logs_no_font_info_lines(report, capfd, monkeypatch) -> None:  # noqa: F811
    held = logs.QUIET_LOGGERS
    assert "fontTools" in held
    try:
        assert _font_lines(capfd, monkeypatch, (), report) == 75  # the library's own INFO lines, without the setting
        assert _font_lines(capfd, monkeypatch, held, report) == 0
    finally:
        logging.getLogger("fontTools").setLevel(logging.NOTSET)
        logging.getLogger().setLevel(logging.WARNING)
