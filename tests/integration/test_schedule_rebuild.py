"""The schedule is a read model: a rebuild, long after the events, makes the same rows as
the live projection did while they happened and the window moved day by day."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest

from pcem.projections.people_and_dates import PeopleAndDatesProjection
from pcem.projector.horizon_keeper import advance_horizon
from pcem.projector.rebuild import Rebuild
from pcem.projector.verify import Verification
from pcem.settings import Settings
from tests.integration.projection_helpers import Database
from tests.integration.schedule_helpers import EMAIL, IN_APP, Calendar, utc

TODAY = date(2027, 3, 1)
TABLES = ("people", "events", "occurrences", "user_settings", "notification_schedule")
BERLIN = {"timezone": "Europe/Berlin", "lead_time_days": (7, 1, 0), "channels": (EMAIL, IN_APP)}


@pytest.fixture
def cal(isolated: Settings) -> Iterator[Calendar]:
    db = Database(isolated)
    calendar = Calendar(db, TODAY)
    yield calendar
    calendar.close()
    db.close()


def day(n: int, hour: int = 12) -> datetime:
    """Noon UTC (or ``hour``) ``n`` days after TODAY."""
    return utc(2027, 3, 1, hour) + timedelta(days=n)


def keeper_moves_to(cal: Calendar, n: int) -> None:
    cal.catch_up()  # the live projection has applied what happened until then
    assert advance_horizon(cal.db.engine, TODAY + timedelta(days=n))


def live_history(cal: Calendar) -> None:
    """A month of a user's life, with the window moving under it."""
    user = "u1"
    cal.prefer(user, day(0, 9), **BERLIN)
    ada, grace = cal.person(user, day(0)), cal.person(user, day(0), first_name="Grace")
    birthday = cal.event(user, ada, day(0), event_date=date(1990, 3, 29))
    cal.event(user, grace, day(0), event_date=date(1985, 4, 2))
    cal.event(user, grace, day(0), title="Leap", event_date=date(1996, 2, 29))
    cal.event(user, ada, day(0), title="Run", event_date=utc(2027, 1, 4, 7), recurrence="weekly")
    cal.event(user, ada, day(0), title="Late", event_date=date(1990, 4, 30))
    linus = cal.person(user, day(0), first_name="Linus")
    cal.event(user, linus, day(0), event_date=date(1980, 5, 5))
    keeper_moves_to(cal, 4)
    cal.event(user, grace, day(4, 10), title="Today", event_date=date(1991, 3, 5))
    cal.prefer(user, day(5), **{**BERLIN, "delivery_time": "07:30"})
    cal.prefer(user, day(6), **{**BERLIN, "delivery_time": "07:30", "enabled": False})
    cal.delete_person(user, grace, day(7))
    keeper_moves_to(cal, 9)
    cal.prefer(user, day(11), **{**BERLIN, "delivery_time": "07:30", "lead_time_days": (14, 0)})
    cal.restore_person(user, grace, day(12))
    cal.prefer(user, day(13), **{**BERLIN, "timezone": "Asia/Kolkata", "lead_time_days": (14, 0)})
    cal.edit(user, birthday, day(14), event_date=date(1990, 4, 12))
    cal.rename(user, ada, day(15), "Augusta")
    cal.delete_person(user, linus, day(16))  # his reminders come into the window cancelled
    keeper_moves_to(cal, 20)
    cal.event(user, ada, day(21), title="Anniversary", event_date=date(2020, 5, 15))
    keeper_moves_to(cal, 27)
    cal.event(user, ada, day(27, 10), title="Today", event_date=date(2000, 3, 28))
    cal.catch_up()


def rebuild(cal: Calendar) -> None:
    assert Rebuild(PeopleAndDatesProjection(), cal.db.engine, cal.db.app.mapper, batch_size=7).run(
        threading.Event()
    )


def test_a_rebuild_makes_the_rows_the_live_projection_made_as_the_window_moved(
    cal: Calendar,
) -> None:
    live_history(cal)
    live = cal.db.checksums(*TABLES)
    rows = cal.rows("u1")

    rebuild(cal)

    assert cal.db.checksums(*TABLES) == live
    assert {r.cancel_reason for r in rows} == {
        None,
        "person deleted",
        "due before it was scheduled",
    }
    assert max(r.due_at for r in rows) > day(27 + 35)  # the window reaches ahead


def test_verify_finds_no_difference_after_the_window_moved(cal: Calendar) -> None:
    live_history(cal)

    result = Verification(PeopleAndDatesProjection(), cal.db.engine, cal.db.app.mapper).run(
        threading.Event(), lambda position, head: None
    )

    assert result is not None and result.identical
    (schedule,) = [t for t in result.tables if t.table == "notification_schedule"]
    assert schedule.live_rows > 0


def test_the_keeper_lists_reminders_newly_in_the_window_and_drops_past_ones(
    cal: Calendar,
) -> None:
    cal.prefer("u1", day(0, 9), **BERLIN)
    ada = cal.person("u1", day(0))
    cal.event("u1", ada, day(0), event_date=date(1990, 3, 3))
    cal.event("u1", ada, day(0), title="Later", event_date=date(1990, 5, 1))
    before = {(r.title, r.occurrence_date, r.lead_time_days) for r in cal.rows("u1")}

    keeper_moves_to(cal, 22)
    after = {(r.title, r.occurrence_date, r.lead_time_days) for r in cal.rows("u1")}

    assert {t for t, _, _ in before} == {"Birthday"}
    # 1 May is due from 24 April on (7 days ahead): all within 40 days of 23 March.
    assert after == {("Later", date(2027, 5, 1), lead) for lead in (7, 1, 0)}
    live = cal.db.checksums(*TABLES)
    rebuild(cal)
    assert cal.db.checksums(*TABLES) == live


def test_the_keeper_waits_while_a_rebuild_is_under_way(cal: Calendar) -> None:
    cal.person("u1", day(0))
    pending = Rebuild(PeopleAndDatesProjection(), cal.db.engine, cal.db.app.mapper)
    pending.prepare()

    assert not advance_horizon(cal.db.engine, TODAY + timedelta(days=3))

    rebuild(cal)
    assert advance_horizon(cal.db.engine, TODAY + timedelta(days=3))


@pytest.mark.slow  # many rounds: 25 days of the keeper and 5 rebuilds
def test_day_by_day_the_keeper_lists_what_a_rebuild_lists_for_every_kind_of_date(
    cal: Calendar,
) -> None:
    rng = random.Random(11)
    users: dict[str, dict[str, object] | None] = {
        "kiritimati": {"timezone": "Pacific/Kiritimati", "lead_time_days": (365, 30, 0)},
        "pago": {"timezone": "Pacific/Pago_Pago", "lead_time_days": (7, 1, 0),
                 "delivery_time": "23:59"},
        "berlin": {"timezone": "Europe/Berlin", "lead_time_days": (14,), "delivery_time": "02:30"},
        "defaults": None,  # never saved any settings
    }  # fmt: skip
    for user, preferences in users.items():
        if preferences is not None:
            cal.prefer(user, day(0, 9), **preferences)
        person = cal.person(user, day(0))
        for _ in range(12):
            when = TODAY + timedelta(days=rng.randrange(-20, 420))
            cal.event(user, person, day(0), event_date=when.replace(year=1992))  # yearly
            cal.event(user, person, day(0), event_date=when, recurrence="none")
        cal.event(user, person, day(0), event_date=date(1996, 2, 29))
        cal.event(user, person, day(0), event_date=date(2027, 1, 31), recurrence="monthly")
        cal.event(user, person, day(0), event_date=utc(1990, 4, 1, 23, 30))  # yearly, timed
    for n in range(1, 75, 3):
        keeper_moves_to(cal, n)
        if n % 15 == 1:
            live = cal.db.checksums(*TABLES)
            rebuild(cal)
            assert cal.db.checksums(*TABLES) == live, f"day {n}"
    assert cal.db.scalar("SELECT count(DISTINCT event_id) FROM notification_schedule") > 30


def test_a_29_february_birthday_comes_into_the_window_on_28_february_of_a_common_year(
    cal: Calendar,
) -> None:
    cal.pin_horizon(date(2029, 1, 10))  # reminders due until 19 February 2029
    cal.prefer("u1", utc(2029, 1, 10, 9), timezone="UTC", lead_time_days=(0,))
    ada = cal.person("u1", utc(2029, 1, 10))
    cal.event("u1", ada, utc(2029, 1, 10), event_date=date(1996, 2, 29))
    assert cal.rows("u1") == []

    assert advance_horizon(cal.db.engine, date(2029, 1, 20))  # ... until 1 March

    assert [(r.occurrence_date, r.due_at) for r in cal.rows("u1")] == [
        (date(2029, 2, 28), utc(2029, 2, 28, 9))
    ]
