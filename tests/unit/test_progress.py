"""The rebuild progress line: how far, how fast, how long still."""

from __future__ import annotations

import io

from pcem.cli.progress import ProgressBar, render


def test_the_line_shows_share_done_rate_and_time_left() -> None:
    line = render("people", 500_000, 1_000_000, elapsed=25.0)

    assert "[############------------]  50%" in line
    assert "500,000/1,000,000 events" in line
    assert "20,000 events/s" in line
    assert "ETA 0:00:25" in line


def test_before_any_progress_the_time_left_is_unknown() -> None:
    assert "ETA --:--:--" in render("people", 0, 10, elapsed=0.0)


def test_an_empty_event_store_is_done_at_once() -> None:
    assert "100%" in render("people", 0, 0, elapsed=1.0)


def test_off_a_terminal_progress_is_a_line_every_few_seconds() -> None:
    out, now = io.StringIO(), [0.0]
    bar = ProgressBar("people", stream=out, clock=lambda: now[0])
    for position in range(0, 1000, 100):
        now[0] += 1.0
        bar.update(position, 1000)
    bar.finish("done")

    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # t=1, t=6, the final state, the message
    assert lines[-1] == "people: done"
    assert "\r" not in out.getvalue()
