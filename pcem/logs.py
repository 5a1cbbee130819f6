"""Structured JSON logs on stderr, one object per line, for every process."""

from __future__ import annotations

import logging
import sys

import structlog

from pcem.settings import Settings, log_level_number


def configure_logging(settings: Settings, process: str) -> None:
    level = log_level_number(settings)
    logging.basicConfig(stream=sys.stderr, level=max(level, logging.WARNING), format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(process=process)
