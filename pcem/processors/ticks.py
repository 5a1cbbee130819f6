"""The scheduler's tick on the wall clock's marks: 09:00:00, 09:01:00, …

Reminders fall due on whole minutes (a ``delivery_time`` is ``HH:MM``). Celery
beat's plain interval counts from when beat started, so a 60 s tick could run
at 09:00:40 and every reminder would leave 40 s late; on the marks they leave
as the minute turns.
"""

from __future__ import annotations

from datetime import datetime

from celery.schedules import schedule


class aligned(schedule):  # type: ignore[misc]
    """Every ``run_every`` seconds, on the multiples of it since the epoch."""

    def is_due(self, last_run_at: datetime) -> tuple[bool, float]:
        period = self.run_every.total_seconds()
        now = self.maybe_make_aware(self.now()).timestamp()
        next_mark = (self.maybe_make_aware(last_run_at).timestamp() // period + 1) * period
        if now >= next_mark:
            return (True, period - now % period)
        return (False, next_mark - now)
