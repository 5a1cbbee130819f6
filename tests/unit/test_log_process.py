"""Every line of a process names it, so `jq 'select(.process == ...)'` finds them all."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest
import structlog

from pcem.logs import configure_logging
from pcem.settings import load_settings


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    output = io.StringIO()
    handlers = list(logging.root.handlers)
    configure_logging(load_settings({}), "projector", stream=output)
    yield output
    structlog.reset_defaults()
    logging.root.handlers[:] = handlers


def test_lines_logged_from_another_thread_name_the_process(log_output: io.StringIO) -> None:
    def runner() -> None:  # as each projection's runner thread logs
        structlog.get_logger().error("projection.failed", projection="people", position=7)

    thread = threading.Thread(target=runner)
    thread.start()
    thread.join()

    (line,) = log_output.getvalue().splitlines()
    assert json.loads(line)["process"] == "projector"
