"""Moves the horizon forward as days pass (run by `pcem projector`).

For occurrences, correctness never depends on it: queries outside the horizon
are computed from the events. It keeps the common query — the next days and
months — a single index range scan. For the notification schedule it is what
lists the reminders falling due within the next 40 days (``horizon.py``). It
holds the people_and_dates projection's tracking row while it works, so it never
interleaves with a batch of that projection.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from itertools import groupby
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Engine, text

from pcem.projections.calendar import VISIBLE_EVENT, materialise
from pcem.projections.catalog import PEOPLE_AND_DATES
from pcem.projections.horizon import Horizon, current_horizon
from pcem.projections.schedule import extend_schedule
from pcem.projector.failures import error_summary
from pcem.projector.rebuild import rebuild_track
from pcem.projector.shadow import schema_exists
from pcem.projector.tracking import ProjectionTracking

log = structlog.get_logger(__name__)

CHECK_EVERY_SECONDS = 3600
ALL_VISIBLE_EVENTS = text(
    "SELECT ev.*, coalesce(s.timezone, 'UTC') AS timezone FROM ("  # noqa: S608 (constant SQL)
    + VISIBLE_EVENT
    + ") ev"
    " LEFT JOIN user_settings s ON s.user_id = ev.user_id ORDER BY ev.user_id"
)
DROP_BEFORE = text("DELETE FROM occurrences WHERE occurs_at < :before")
SET_HORIZON = text("UPDATE occurrence_horizon SET starts_at = :starts_at, ends_at = :ends_at")


def advance_horizon(engine: Engine, today: date, projection: str = PEOPLE_AND_DATES) -> bool:
    """Move the horizon, and the schedule's window with it, to ``Horizon.around(today)``
    if that is later; True if it moved."""
    target = Horizon.around(today)
    tracking = ProjectionTracking(engine)
    tracking.ensure(projection)
    with engine.begin() as conn:
        tracking.lock_position(conn, projection)
        current = current_horizon(conn)
        if target.ends_at <= current.ends_at:
            return False
        if schema_exists(conn, rebuild_track(projection).schema or ""):
            # A rebuild materialises with the horizon it started with; moving it now
            # would leave its tables with two horizons. Try again at the next check.
            log.info("horizon.waits_for_rebuild", projection=projection)
            return False
        conn.execute(DROP_BEFORE, {"before": target.materialised[0]})
        tail = (max(current.materialised[1], target.materialised[0]), target.materialised[1])
        rows = conn.execute(ALL_VISIBLE_EVENTS, execution_options={"yield_per": 2000})
        for (_, zone_name), user_rows in groupby(rows, key=lambda r: (r.user_id, r.timezone)):
            materialise(conn, list(user_rows), ZoneInfo(zone_name), tail)
        extend_schedule(conn, current, target)
        conn.execute(SET_HORIZON, {"starts_at": target.starts_at, "ends_at": target.ends_at})
    log.info("horizon.advanced", starts_at=str(target.starts_at), ends_at=str(target.ends_at))
    return True


def keep_horizon(engine: Engine, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            advance_horizon(engine, datetime.now(UTC).date())
        except Exception as error:  # retried at the next check; queries stay correct meanwhile
            log.error("horizon.advance_failed", error=error_summary(error))  # no row data
        stop.wait(CHECK_EVERY_SECONDS)
