"""No log line quotes personal data: an exception is logged without its message."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from pcem.logs import MESSAGE_NOT_LOGGED, configure_logging
from pcem.settings import load_settings


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    output = io.StringIO()
    handlers = list(logging.root.handlers)
    configure_logging(load_settings({}), "worker", stream=output)
    yield output
    structlog.reset_defaults()
    logging.root.handlers[:] = handlers


def test_an_exceptions_message_is_not_logged_its_type_and_frames_are(
    log_output: io.StringIO,
) -> None:
    try:
        raise ValueError('Failing row contains (Ada, Lovelace, "ada@example.org")')
    except ValueError:
        structlog.get_logger().exception("request.unhandled_error", path="/api/v1/people")

    (line,) = log_output.getvalue().splitlines()
    assert "Lovelace" not in line and "ada@example.org" not in line
    [stack] = json.loads(line)["exception"]
    assert stack["exc_type"] == "ValueError"
    assert stack["exc_value"] == MESSAGE_NOT_LOGGED
    assert (
        stack["frames"][-1]["name"]
        == "test_an_exceptions_message_is_not_logged_its_type_and_frames_are"
    )
