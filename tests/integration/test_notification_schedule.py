"""The notification schedule follows events, people and settings, in the user's zone.

The horizon is pinned to 1 March 2027: reminders of occurrences from 27 February
on, due before 10 April, are listed. Commands are given at frozen moments; the
projection applies them as the projector would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from pcem.settings import Settings
from tests.integration.api_helpers import Client, create_person
from tests.integration.projection_helpers import Database
from tests.integration.schedule_helpers import EMAIL, IN_APP, Calendar, utc
from tests.integration.test_upcoming import SETTINGS, add_event, settings_body, upcoming

TODAY = date(2027, 3, 1)
NOON = utc(2027, 3, 1, 12)
USER = "u1"
BERLIN = {"timezone": "Europe/Berlin", "lead_time_days": (7, 1, 0), "channels": (EMAIL, IN_APP)}
# A birthday on Monday 29 March 2027, the day after Berlin springs forward.
BIRTHDAY_DUE = [utc(2027, 3, 22, 8), utc(2027, 3, 28, 7), utc(2027, 3, 29, 7)]  # 09:00 local


@pytest.fixture
def cal(isolated: Settings) -> Iterator[Calendar]:
    db = Database(isolated)
    calendar = Calendar(db, TODAY)
    yield calendar
    calendar.close()
    db.close()


@pytest.fixture
def ada(cal: Calendar) -> Any:
    cal.prefer(USER, NOON - timedelta(hours=1), **BERLIN)
    return cal.person(USER, NOON)


def due(rows: list[Any]) -> list[tuple[Any, ...]]:
    return [(r.due_at, r.lead_time_days, r.channel, r.status, r.cancel_reason) for r in rows]


def scheduled(*instants: Any, channels: tuple[str, ...] = ("email", "in_app")) -> list[Any]:
    leads = dict(zip(instants, (7, 1, 0), strict=True))
    return [(at, leads[at], c, "scheduled", None) for at in instants for c in channels]


def test_a_special_birthday_has_a_reminder_per_lead_time_and_channel_in_the_users_zone(
    cal: Calendar, ada: Any
) -> None:
    birthday = cal.event(USER, ada, NOON, event_date=date(1990, 3, 29))
    cal.event(USER, ada, NOON, title="Call", event_date=date(1990, 3, 20), is_special_event=False)

    rows = cal.rows(USER)

    assert due(rows) == scheduled(*BIRTHDAY_DUE)
    assert {(r.event_id, r.occurrence_date, r.person_name, r.title) for r in rows} == {
        (birthday, date(2027, 3, 29), "Ada Lovelace", "Birthday")
    }
    assert {r.channel_key for r in rows} == {"email", "in_app"}
    assert {r.occurs_at for r in rows} == {utc(2027, 3, 28, 22)}  # local midnight, CEST
    assert len({r.id for r in rows}) == 6


def test_a_new_time_zone_moves_every_pending_reminder_at_once(cal: Calendar, ada: Any) -> None:
    cal.event(USER, ada, NOON, event_date=date(1990, 3, 29))
    cal.event(USER, ada, NOON, title="Wedding", event_date=date(2010, 3, 15))
    before = {r.id: r.due_at for r in cal.rows(USER)}

    cal.prefer(USER, NOON + timedelta(hours=1), **{**BERLIN, "timezone": "America/Los_Angeles"})
    after = {r.id: r.due_at for r in cal.rows(USER)}

    assert after.keys() == before.keys() and len(after) == 12
    # 09:00 in Los Angeles (PDT from 14 March, -7; PST before, -8).
    assert sorted(set(after.values())) == [
        utc(2027, 3, 8, 17), utc(2027, 3, 14, 16), utc(2027, 3, 15, 16),
        utc(2027, 3, 22, 16), utc(2027, 3, 28, 16), utc(2027, 3, 29, 16),
    ]  # fmt: skip


def test_a_new_delivery_time_lead_time_or_address_reschedules_accordingly(
    cal: Calendar, ada: Any
) -> None:
    cal.event(USER, ada, NOON, event_date=date(1990, 3, 29))
    old = {r.id for r in cal.rows(USER)}
    replaced = {"type": "email", "address": "lovelace@example.org"}

    cal.prefer(USER, NOON, **{**BERLIN, "lead_time_days": (3, 0), "delivery_time": "18:30",
                              "channels": (replaced, IN_APP)})  # fmt: skip
    rows = cal.rows(USER)

    assert [(r.due_at, r.lead_time_days, r.channel) for r in rows] == [
        (utc(2027, 3, 26, 17, 30), 3, "email"), (utc(2027, 3, 26, 17, 30), 3, "in_app"),
        (utc(2027, 3, 29, 16, 30), 0, "email"), (utc(2027, 3, 29, 16, 30), 0, "in_app"),
    ]  # fmt: skip
    assert {r.channel_key for r in rows} == {"email", "in_app"}
    # The edited address is the same channel: the reminder on the day keeps its id.
    assert {r.id for r in rows if r.lead_time_days == 0} <= old
    assert not {r.id for r in rows if r.lead_time_days == 3} & old


def test_a_second_channel_of_a_type_has_reminders_of_its_own_and_removing_it_removes_them(
    cal: Calendar, ada: Any
) -> None:
    cal.event(USER, ada, NOON, event_date=date(1990, 3, 29))
    work = {"type": "email", "address": "ada@work.example"}
    cal.prefer(USER, NOON, **{**BERLIN, "lead_time_days": (0,), "channels": (EMAIL, work)})
    both = {r.channel_key: r.id for r in cal.rows(USER)}

    cal.prefer(USER, NOON, **{**BERLIN, "lead_time_days": (0,), "channels": (EMAIL,)})
    one = {r.channel_key: r.id for r in cal.rows(USER)}

    assert set(both) == {"email", "email#2"} and len(set(both.values())) == 2
    assert one == {"email": both["email"]}


def test_turning_notifications_off_cancels_every_pending_one_and_on_schedules_them_again(
    cal: Calendar, ada: Any
) -> None:
    cal.event(USER, ada, NOON, event_date=date(1990, 3, 29))
    cal.event(USER, ada, NOON, title="Wedding", event_date=date(2010, 3, 15))

    cal.prefer(USER, NOON + timedelta(hours=1), **BERLIN, enabled=False)
    off = cal.rows(USER)
    cal.prefer(USER, NOON + timedelta(hours=2), **BERLIN, enabled=True)
    on = cal.rows(USER)

    assert len(off) == 12
    assert {(r.status, r.cancel_reason) for r in off} == {("cancelled", "notifications disabled")}
    assert {(r.status, r.cancel_reason) for r in on} == {("scheduled", None)}
    assert [r.id for r in on] == [r.id for r in off]


def test_deleting_a_person_cancels_their_reminders_and_restoring_brings_them_back(
    cal: Calendar, ada: Any
) -> None:
    cal.event(USER, ada, NOON, event_date=date(1990, 3, 29))
    grace = cal.person(USER, NOON, first_name="Grace")
    cal.event(USER, grace, NOON, event_date=date(1990, 3, 30))

    cal.delete_person(USER, ada, NOON + timedelta(hours=1))
    deleted = cal.rows(USER)
    cal.restore_person(USER, ada, NOON + timedelta(hours=2))
    restored = cal.rows(USER)

    assert {(r.person_id, r.status, r.cancel_reason) for r in deleted} == {
        (ada, "cancelled", "person deleted"),
        (grace, "scheduled", None),
    }
    assert {(r.status, r.cancel_reason) for r in restored} == {("scheduled", None)}
    assert [r.id for r in restored] == [r.id for r in deleted]


def test_editing_the_date_moves_the_reminders_and_unmarking_it_removes_them(
    cal: Calendar, ada: Any
) -> None:
    birthday = cal.event(USER, ada, NOON, event_date=date(1990, 3, 29))
    old = {r.id for r in cal.rows(USER)}

    cal.edit(USER, birthday, NOON, event_date=date(1990, 3, 20))
    moved = cal.rows(USER)
    cal.edit(USER, birthday, NOON, event_date=date(1990, 1, 5), recurrence="monthly")
    monthly = cal.rows(USER)
    cal.edit(USER, birthday, NOON, is_special_event=False)
    unmarked = cal.rows(USER)

    assert {r.occurrence_date for r in moved} == {date(2027, 3, 20)}
    assert not {r.id for r in moved} & old
    assert due(moved) == scheduled(utc(2027, 3, 13, 8), utc(2027, 3, 19, 8), utc(2027, 3, 20, 8))
    assert {r.occurrence_date for r in monthly} == {date(2027, 3, 5), date(2027, 4, 5)}
    assert unmarked == []


def test_a_deleted_event_has_no_reminders(cal: Calendar, ada: Any) -> None:
    birthday = cal.event(USER, ada, NOON, event_date=date(1990, 3, 29))

    cal.delete_event(USER, birthday, NOON)

    assert cal.rows(USER) == []


def test_a_new_name_or_title_is_in_the_reminders(cal: Calendar, ada: Any) -> None:
    birthday = cal.event(USER, ada, NOON, event_date=date(1990, 3, 29))
    cal.rows(USER)

    cal.rename(USER, ada, NOON, "Augusta")
    cal.edit(USER, birthday, NOON, title="Augusta's birthday", notes="cake")
    rows = cal.rows(USER)

    assert {(r.person_name, r.title) for r in rows} == {("Augusta Lovelace", "Augusta's birthday")}
    assert due(rows) == scheduled(*BIRTHDAY_DUE)


def test_an_event_created_after_todays_delivery_time_gets_no_reminder_for_today(
    cal: Calendar, ada: Any
) -> None:
    ten_in_berlin = utc(2027, 3, 5, 9)
    today = cal.event(USER, ada, ten_in_berlin, event_date=date(1990, 3, 5))
    tomorrow = cal.event(USER, ada, ten_in_berlin, event_date=date(1990, 3, 6))

    rows = {(r.event_id, r.lead_time_days): r for r in cal.rows(USER) if r.channel == "in_app"}

    late = ("cancelled", "due before it was scheduled")
    assert {key: (r.status, r.cancel_reason) for key, r in rows.items()} == {
        (today, 7): late,
        (today, 1): late,
        (today, 0): late,  # 09:00 today, an hour before it was asked for
        (tomorrow, 7): late,
        (tomorrow, 1): late,  # 09:00 today as well
        (tomorrow, 0): ("scheduled", None),
    }


def test_a_reminder_moved_later_than_the_change_is_scheduled_again(cal: Calendar, ada: Any) -> None:
    ten_in_berlin = utc(2027, 3, 5, 9)
    cal.event(USER, ada, ten_in_berlin, event_date=date(1990, 3, 5))

    cal.prefer(USER, ten_in_berlin, **{**BERLIN, "delivery_time": "18:00"})
    rows = {r.lead_time_days: (r.due_at, r.status) for r in cal.rows(USER) if r.channel == "in_app"}

    assert rows == {
        7: (utc(2027, 2, 26, 17), "cancelled"),
        1: (utc(2027, 3, 4, 17), "cancelled"),
        0: (utc(2027, 3, 5, 17), "scheduled"),  # 18:00 today is still ahead
    }


def test_a_reminder_scheduled_in_time_stays_scheduled_after_it_fell_due(
    cal: Calendar, ada: Any
) -> None:
    birthday = cal.event(USER, ada, NOON, event_date=date(1990, 3, 5))  # due 4 and 5 March

    cal.edit(USER, birthday, utc(2027, 3, 6), title="Ada's birthday")  # after both were due
    cal.prefer(USER, utc(2027, 3, 6), **{**BERLIN, "lead_time_days": (0, 1)})  # same due times
    rows = cal.rows(USER)

    assert {(r.lead_time_days, r.status) for r in rows} == {(0, "scheduled"), (1, "scheduled")}


def test_reminders_without_settings_use_the_defaults(cal: Calendar) -> None:
    grace = cal.person("u2", NOON, first_name="Grace")
    cal.event("u2", grace, NOON, event_date=date(1990, 3, 29))

    assert due(cal.rows("u2")) == [
        (utc(2027, 3, 22, 9), 7, "in_app", "scheduled", None),
        (utc(2027, 3, 28, 9), 1, "in_app", "scheduled", None),
        (utc(2027, 3, 29, 9), 0, "in_app", "scheduled", None),
    ]


def test_through_the_api_a_special_birthday_is_scheduled_per_lead_time_and_channel(
    client: Client, auth: dict[str, str], user_id: str, container: Any
) -> None:
    channels = [EMAIL, IN_APP]
    body = settings_body("Asia/Kolkata", lead_time_days=[7, 1, 0], channels=channels)
    client.put(SETTINGS, json=body, headers=auth)
    ada = create_person(client, auth)
    day = datetime.now(UTC).date() + timedelta(days=20)  # inside the window, whenever now is
    add_event(client, auth, ada["id"], event_date=f"1992-{day:%m-%d}", recurrence="yearly",
              is_special_event=True)  # fmt: skip
    add_event(client, auth, ada["id"], title="Call", event_date=f"1992-{day:%m-%d}")
    upcoming(client, auth)  # the projection has caught up

    with container.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT lead_time_days, channel, due_at, status FROM notification_schedule"
            " WHERE user_id = %(u)s ORDER BY due_at, channel",
            {"u": user_id},
        ).all()

    def at_nine_in_kolkata(local: date) -> datetime:
        return datetime.combine(local, time(3, 30), tzinfo=UTC)

    assert [tuple(r) for r in rows] == [
        (lead, channel, at_nine_in_kolkata(day - timedelta(days=lead)), "scheduled")
        for lead in (7, 1, 0)
        for channel in ("email", "in_app")
    ]
