"""What `pcem worker` and `pcem scheduler` write, Celery's own lines included: JSON
objects, one a line, that `jq` reads; on a terminal, a console form a person reads."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from pcem.processors.tasks import SCHEDULE_QUEUE, TICK, create_celery
from pcem.settings import Settings
from tests.integration.projection_helpers import start_pcem
from tests.polling import wait_until

pytestmark = pytest.mark.slow  # starts processes

EVERY_SECOND = {"PCEM_SCHEDULER_TICK_SECONDS": "1", "PCEM_LOG_LEVEL": "INFO"}


def records(path: Path) -> list[dict[str, Any]]:
    """Every line of ``path`` as a JSON object; fails naming the first line that is not."""
    found = []
    for line in path.read_text().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(found[-1], dict), line
    return found


def test_the_worker_and_the_scheduler_write_only_json_lines(
    isolated: Settings, tmp_path: Path
) -> None:
    logs = {name: tmp_path / f"{name}.log" for name in ("worker", "scheduler")}
    processes = [
        start_pcem(isolated, name, env_extra=EVERY_SECOND, stdout=output, stderr=output)
        for name, output in ((name, path.open("w")) for name, path in logs.items())
    ]
    try:
        wait_until(lambda: "Sending due task" in logs["scheduler"].read_text(), 60, "a tick")
        # The scheduler runs its ticks itself; a tick sent to the workers, as an earlier
        # release's scheduler sends it, has the worker write Celery's task lines too.
        celery = create_celery(isolated)
        celery.send_task(TICK, queue=SCHEDULE_QUEUE)
        wait_until(lambda: "succeeded" in logs["worker"].read_text(), 60, f"a {TICK} to run")
        celery.close()
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)

    worker, scheduler = records(logs["worker"]), records(logs["scheduler"])
    assert {r["process"] for r in worker} == {"worker"}
    assert {r["process"] for r in scheduler} == {"scheduler"}
    assert any(
        r["event"].startswith("Task pcem.tick[") and "received" in r["event"] for r in worker
    )
    assert any(r["event"] == "worker: Warm shutdown (SIGTERM)" for r in worker)
    assert any(r["event"] == "Scheduler: Sending due task tick (pcem.tick)" for r in scheduler)
    if os.geteuid() == 0:  # Celery's warning about root, through the warnings module
        assert any("superuser privileges" in r["event"] for r in worker)


def test_on_a_terminal_the_scheduler_writes_a_readable_console_form(isolated: Settings) -> None:
    terminal, child_side = pty.openpty()
    process = start_pcem(isolated, "scheduler", env_extra=EVERY_SECOND, stdout=child_side,
                         stderr=child_side)  # fmt: skip
    os.close(child_side)
    try:
        screen = _read_until(terminal, "Sending due task tick", timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        os.close(terminal)

    plain = re.sub(r"\x1b\[[0-9;]*m", "", screen)  # without its colours
    lines = [line for line in plain.splitlines() if "Sending due task tick" in line]
    assert lines, screen
    assert not lines[0].lstrip().startswith("{")
    assert "info" in lines[0] and "process=" in lines[0]


def _read_until(terminal: int, text: str, timeout: float) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        assert time.monotonic() < deadline, f"no {text!r} on the terminal: {seen.decode()!r}"
        if select.select([terminal], [], [], 0.5)[0]:
            try:
                seen += os.read(terminal, 65536)
            except OSError:  # the process closed the terminal: it exited
                raise AssertionError(seen.decode()) from None
    return seen.decode(errors="replace")
