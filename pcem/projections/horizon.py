"""The horizon: the windows in which occurrences and reminders are materialised.

Both move with one date, the horizon's "today" (a UTC midnight), which the
keeper (``horizon_keeper.py``) advances daily.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, text

from pcem.projections.writes import read

# Occurrences are materialised a little beyond the window on both sides, so a
# query inside the window never misses one whose local day straddles its edge.
MARGIN = timedelta(days=2)
PAST_DAYS = 31
FUTURE_DAYS = 400
# Reminders are listed when due within this many days of the horizon's today: at
# least 35 days ahead at any moment, even with the keeper four days behind. They
# stay until two days after their occurrence, so a scheduler that was down can
# still send them late (or tell they are too late).
SCHEDULE_DAYS = 40


@dataclass(frozen=True)
class Horizon:
    starts_at: datetime
    ends_at: datetime

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.starts_at <= start and end <= self.ends_at

    @property
    def materialised(self) -> tuple[datetime, datetime]:
        return self.starts_at - MARGIN, self.ends_at + MARGIN

    @property
    def today(self) -> datetime:
        return self.starts_at + timedelta(days=PAST_DAYS)

    @property
    def schedule(self) -> tuple[datetime, datetime]:
        """``(occurs_from, due_until)``: the reminders listed are those of occurrences
        from ``occurs_from`` on that are due before ``due_until``."""
        return self.today - MARGIN, self.today + timedelta(days=SCHEDULE_DAYS)

    @classmethod
    def around(cls, today: date) -> Horizon:
        midnight = datetime.combine(today, time(0), tzinfo=UTC)
        return cls(midnight - timedelta(days=PAST_DAYS), midnight + timedelta(days=FUTURE_DAYS))


SELECT_HORIZON = text("SELECT starts_at, ends_at FROM occurrence_horizon")


def current_horizon(conn: Connection) -> Horizon:
    (row,) = read(conn, SELECT_HORIZON, {})
    return Horizon(row.starts_at, row.ends_at)
