"""Structured (JSON lines) logging for every command of the project.

One call at the start of a command; modules then use ``structlog.get_logger(__name__)``.
``TICKTRACK_LOG_FORMAT=console`` gives human-readable lines on stderr, ``TICKTRACK_LOG_LEVEL``
the level. structlog goes through the standard library's logging, so the lines of libraries
(Bytewax, Kafka, uvicorn, Streamlit) are the same JSON; every line goes to stderr and, batched,
to VictoriaLogs (``settings/log_shipping.py``, ``LOGS_*`` settings, docs/operations.md).

Each line carries ``service`` (the command: ``flow`` for a Bytewax flow, else its module, e.g.
``notifier``, ``collectors.ccxt_collector``, ``jobs.backup``; ``TICKTRACK_SERVICE`` overrides),
``flow`` (the flow's module, e.g. ``fleet_analytics``; ``TICKTRACK_FLOW`` overrides), ``worker``
(the Bytewax process index and worker thread) and ``level``; callers add ``vehicle_id``,
``symbol`` or ``alert_id`` as keyword fields where they apply.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from settings.log_shipping import ShippingHandler, process_shipper
from settings.metrics import serve_metrics
from settings.origin import process_origin

_worker = threading.local()


def bind_worker(index: int) -> None:
    """Name the Bytewax worker of the calling thread (sources call it when a worker builds its part)."""
    _worker.index = index


def _bytewax_process() -> str:
    argv = sys.argv
    for flag in ("-i", "--process-id"):
        if flag in argv[:-1]:
            return argv[argv.index(flag) + 1]
    return "0"


class _Origin:
    """Processor adding service, flow and worker to every line (callers' fields win)."""

    def __init__(self, service: str, flow: str | None) -> None:
        self.service, self.flow, self.process = service, flow, _bytewax_process()

    def __call__(self, _logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        event.setdefault("service", self.service)
        if self.flow is not None:
            event.setdefault("flow", self.flow)
        index = getattr(_worker, "index", None)
        event.setdefault("worker", f"{self.process}.{index}" if index is not None else f"{self.process}.{threading.current_thread().name}")
        return event


_OURS = "_ticktrack_handler"
# Libraries that log routine work at INFO: held at WARNING whatever TICKTRACK_LOG_LEVEL says.
# fontTools logs about 75 INFO lines (subsetting, glyph tables) for every PDF fpdf2 builds.
QUIET_LOGGERS = ("fontTools",)


def configure_logging(level: str | None = None, fmt: str | None = None, service: str | None = None) -> None:
    """Route structlog and stdlib logging to stderr as JSON lines (or console text) and to VictoriaLogs.

    Safe to call more than once (each flow source calls it when it starts): the handlers are replaced.
    """
    level_name = (level or os.environ.get("TICKTRACK_LOG_LEVEL", "INFO")).upper()
    lvl = getattr(logging, level_name, logging.INFO)
    fmt = fmt or os.environ.get("TICKTRACK_LOG_FORMAT", "json")
    default_service, flow = process_origin()
    origin = _Origin(os.environ.get("TICKTRACK_SERVICE", service or default_service), flow)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        origin,
    ]
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info]
    as_json = structlog.stdlib.ProcessorFormatter(processors=[*final, structlog.processors.JSONRenderer()], foreign_pre_chain=shared)
    as_text = structlog.stdlib.ProcessorFormatter(processors=[*final, structlog.dev.ConsoleRenderer()], foreign_pre_chain=shared)

    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    handlers[0].setFormatter(as_text if fmt == "console" else as_json)
    shipper = process_shipper()
    if shipper is not None:
        handlers.append(ShippingHandler(shipper))
        handlers[1].setFormatter(as_json)
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, _OURS, False) or type(h) is logging.StreamHandler]:
        root.removeHandler(h)
    for h in handlers:
        setattr(h, _OURS, True)
        root.addHandler(h)
    root.setLevel(lvl)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(lvl, logging.WARNING))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    serve_metrics()
