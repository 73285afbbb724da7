"""Structured (JSON lines) logging for every command of the project.

One call at the start of a command; modules then use ``structlog.get_logger(__name__)``.
``TICKTRACK_LOG_FORMAT=console`` gives human-readable lines, ``TICKTRACK_LOG_LEVEL`` the level.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog


def configure_logging(level: str | None = None, fmt: str | None = None) -> None:
    """Route structlog and stdlib logging to stderr as JSON lines (or console text)."""
    level_name = (level or os.environ.get("TICKTRACK_LOG_LEVEL", "INFO")).upper()
    fmt = fmt or os.environ.get("TICKTRACK_LOG_FORMAT", "json")
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level_name, logging.INFO), format="%(message)s")
    renderer = structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level_name, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
