"""The scheduler's tick falls on the wall clock's marks, whenever beat started."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from celery import Celery
from celery.beat import ScheduleEntry
from freezegun import freeze_time

from pcem.processors.ticks import InProcessScheduler, aligned


def tick_at(now: str, last_run: str, seconds: float = 60) -> tuple[bool, float]:
    with freeze_time(now):
        schedule = aligned(seconds, nowfun=lambda: datetime.now(UTC))
        return tuple(schedule.is_due(datetime.fromisoformat(last_run)))  # type: ignore[return-value]


def test_a_tick_is_due_as_the_minute_turns_not_a_minute_after_beat_started() -> None:
    due, wait = tick_at("2027-03-10T09:00:00.2Z", "2027-03-10T08:59:40+00:00")

    assert (due, round(wait, 3)) == (True, 59.8)


def test_before_the_mark_it_waits_exactly_until_it() -> None:
    due, wait = tick_at("2027-03-10T08:59:50Z", "2027-03-10T08:59:40+00:00")

    assert (due, round(wait, 6)) == (False, 10.0)


def test_one_tick_per_mark_however_often_beat_asks() -> None:
    assert tick_at("2027-03-10T09:00:30Z", "2027-03-10T09:00:00.2+00:00")[0] is False


def test_shorter_ticks_fall_on_their_own_marks() -> None:
    assert tick_at("2027-03-10T09:00:05Z", "2027-03-10T09:00:03+00:00", seconds=5)[0] is True
    assert tick_at("2027-03-10T09:00:04Z", "2027-03-10T09:00:03+00:00", seconds=5)[0] is False


def beat_runs(tick: Callable[[], None], tmp_path: Path, times: int = 1) -> None:
    """``tick`` as the due task of a beat with nothing to send to (a broker in memory,
    no worker), run ``times`` times as beat runs a due entry."""
    app = Celery("ticks", broker="memory://", set_as_current=False)
    app.task(name="tick", shared=False)(tick)
    scheduler = InProcessScheduler(app, schedule_filename=str(tmp_path / "beat"), lazy=True)
    entry = ScheduleEntry(name="tick", task="tick", schedule=aligned(60), app=app)
    for _ in range(times):
        scheduler.apply_async(entry, advance=False)


def test_the_scheduler_runs_a_due_tick_in_its_own_process_not_through_the_broker(
    tmp_path: Path,
) -> None:
    ran: list[int] = []

    def tick() -> None:
        ran.append(os.getpid())

    beat_runs(tick, tmp_path)

    assert ran == [os.getpid()]


def test_a_tick_that_fails_leaves_beat_running_for_the_next(tmp_path: Path) -> None:
    # given: a tick that fails once (the database down), then runs
    calls: list[str] = []

    def tick() -> None:
        calls.append("tick")
        if len(calls) == 1:
            raise ConnectionError("the database is down")

    # when
    beat_runs(tick, tmp_path, times=2)
    # then
    assert calls == ["tick", "tick"]


def stop_as_beat_does(*_: object) -> None:
    """Celery beat's SIGTERM handler: sync the schedule, raise SystemExit."""
    raise SystemExit


def test_a_stop_during_a_tick_lets_the_tick_finish_then_stops_beat(tmp_path: Path) -> None:
    # given: beat's SIGTERM handler, and a tick that is stopped halfway through
    steps: list[str] = []

    def tick() -> None:
        steps.append("began")
        signal.raise_signal(signal.SIGTERM)  # as `kill` or systemd's stop
        steps.append("the broker's connection closed cleanly")

    previous = signal.signal(signal.SIGTERM, stop_as_beat_does)
    try:
        # when
        with pytest.raises(SystemExit):
            beat_runs(tick, tmp_path)
    finally:
        signal.signal(signal.SIGTERM, previous)
    # then: the tick ran to its end, and beat still stopped
    assert steps == ["began", "the broker's connection closed cleanly"]
    assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
