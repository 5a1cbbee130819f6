"""Structured JSON logs on stderr, one object per line, for every process (on a
terminal, the same lines in a readable console form).

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
from structlog.typing import Processor

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
    """``quiet``: warnings and errors only (commands that draw progress on stderr).

    Lines of the standard library's loggers (Celery's, warnings) go through the same
    processors, so they too are JSON; on a terminal, everything is in structlog's
    console form instead, for a person to read."""
    level = max(log_level_number(settings), logging.WARNING if quiet else logging.NOTSET)
    output = stream or sys.stderr
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        # Every line names its process, also from threads (a projection's runner),
        # which start with empty context variables.
        _name_process(process),
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    rendering = _console_rendering() if output.isatty() else _json_rendering()
    _route_standard_logging(output, max(level, logging.WARNING), shared, rendering)
    # HTTP clients' INFO and DEBUG lines name every URL they request: a user's webhook
    # address is personal data (and may carry a token in its path). Deliveries log
    # their own line.
    for chatty in ("urllib3", "httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*shared, *rendering],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=output),
        cache_logger_on_first_use=True,
    )


def _json_rendering() -> list[Processor]:
    return [
        # Frame locals could hold a request's headers: never render them.
        ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
        without_exception_messages,
        redact_secrets,
        structlog.processors.JSONRenderer(serializer=_json),
    ]


def _console_rendering() -> list[Processor]:
    # The traceback as plain text before redaction, so the renderer has nothing left to
    # format (its default, rich's, would show frame locals).
    return [structlog.processors.format_exc_info, redact_secrets, structlog.dev.ConsoleRenderer()]


def _route_standard_logging(
    output: TextIO, level: int, shared: list[Processor], rendering: list[Processor]
) -> None:
    """The root logger writes through structlog's processors, at ``level`` (libraries'
    info lines, such as an HTTP client's requests with their URLs, stay out)."""
    handler = logging.StreamHandler(output)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings.warn (Celery's SecurityWarning) as log lines


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
