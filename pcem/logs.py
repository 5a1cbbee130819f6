"""Structured JSON logs on stderr, one object per line, for every process.

Context bound with ``structlog.contextvars`` (the request id and user id of an
API request, the process name) is merged into every line. Secrets never reach
the output: values under secret-sounding keys and anything shaped like a JWT or
a bearer credential are replaced, wherever they appear, as a last step before
rendering - a safety net, since nothing should log them in the first place.

Nor personal data: lines carry ids, counts and kinds, never a name, a metadata value,
an address, a URL or a message's words. An exception is logged by its type and its
frames, without its message: a database error's DETAIL quotes the row it was about, a
mail server's refusal the address (docs/privacy.md, "Purge and account erasure").
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, MutableMapping
from typing import Any, TextIO

import msgspec
import structlog
from structlog.processors import ExceptionRenderer
from structlog.tracebacks import ExceptionDictTransformer

from pcem.settings import Settings, log_level_number

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"authorization|token|secret|password|cookie|api_key", re.IGNORECASE)
_CREDENTIAL = re.compile(
    r"eyJ[\w-]*\.[\w-]+\.[\w-]*"  # a JWT (its header always starts with {" -> eyJ)
    r"|(?i:bearer|basic)\s+[\w.~+/=-]+"
)


def configure_logging(
    settings: Settings, process: str, *, stream: TextIO | None = None, quiet: bool = False
) -> None:
    """``quiet``: warnings and errors only (commands that draw progress on stderr)."""
    level = max(log_level_number(settings), logging.WARNING if quiet else logging.NOTSET)
    output = stream or sys.stderr
    logging.basicConfig(stream=output, level=max(level, logging.WARNING), format="%(message)s")
    # httpx's INFO line names every URL it requests: a user's webhook address is
    # personal data (and may carry a token in its path). Deliveries log their own line.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            # Every line names its process, also from threads (a projection's runner),
            # which start with empty context variables.
            _name_process(process),
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Frame locals could hold a request's headers: never render them.
            ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            without_exception_messages,
            redact_secrets,
            structlog.processors.JSONRenderer(serializer=_json),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=output),
        cache_logger_on_first_use=True,
    )


def _name_process(process: str) -> structlog.typing.Processor:
    def name(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event.setdefault("process", process)
        return event

    return name


def _json(event: Any, default: Callable[[Any], Any]) -> str:
    # msgspec, not the stdlib: a third of the cost of the one line every request writes.
    return msgspec.json.encode(event, enc_hook=default).decode()


MESSAGE_NOT_LOGGED = "[not logged: it may quote personal data]"


def without_exception_messages(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for stack in event.get("exception") or ():
        if isinstance(stack, dict) and stack.get("exc_value"):
            stack["exc_value"] = MESSAGE_NOT_LOGGED
            stack.pop("exc_notes", None)
    return event


def redact_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        event[key] = REDACTED if _SECRET_KEY.search(key) else _scrub(value)
    return event


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _CREDENTIAL.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value
