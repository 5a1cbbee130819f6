"""The scheduler's tick on the wall clock's marks: 09:00:00, 09:01:00, …, run by
the scheduler itself.

Reminders fall due on whole minutes (a ``delivery_time`` is ``HH:MM``). Celery
beat's plain interval counts from when beat started, so a 60 s tick could run
at 09:00:40 and every reminder would leave 40 s late; on the marks they leave
as the minute turns.

Beat runs the tick in its own process rather than sending it to the workers: a
tick that makes 10,000 notifications and relays their messages would hold a
pool process that delivers them, and ticks would queue behind a long one. In
beat they run one at a time; a tick still running at the next mark makes that
one late, not doubled.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import structlog
from celery.beat import PersistentScheduler, ScheduleEntry
from celery.schedules import schedule

log = structlog.get_logger(__name__)


class aligned(schedule):  # type: ignore[misc]
    """Every ``run_every`` seconds, on the multiples of it since the epoch."""

    def is_due(self, last_run_at: datetime) -> tuple[bool, float]:
        period = self.run_every.total_seconds()
        now = self.maybe_make_aware(self.now()).timestamp()
        next_mark = (self.maybe_make_aware(last_run_at).timestamp() // period + 1) * period
        if now >= next_mark:
            return (True, period - now % period)
        return (False, next_mark - now)


class InProcessScheduler(PersistentScheduler):  # type: ignore[misc]
    """Celery beat that runs each due task in its own process instead of sending it."""

    def apply_async(
        self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **_: Any
    ) -> None:
        entry = self.reserve(entry) if advance else entry
        with stops_held_back():
            try:
                self.app.tasks[entry.task](*entry.args, **entry.kwargs)
            except Exception:  # the database or broker down: the next mark tries again
                log.exception("scheduler.task_failed", task=entry.task)


STOPS = {signal.SIGTERM, signal.SIGINT}


@contextmanager
def stops_held_back() -> Iterator[None]:
    """SIGTERM and SIGINT blocked for the block's length; one that came meanwhile is
    delivered (and its handler run) as the block ends."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
