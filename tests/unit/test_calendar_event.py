"""The CalendarEvent aggregate's rules, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import TypedDict, Unpack

import pytest

from pcem.aggregates.event import (
    CalendarEvent,
    DateOutOfRangeError,
    EventGoneError,
    InvalidRecurrenceError,
    NaiveDateTimeError,
)
from pcem.aggregates.person import Person, PersonDeletedError

MINUS_FIVE = timezone(timedelta(hours=-5))


def person() -> Person:
    return Person.create(user_id="alice", actor="alice", first_name="Ada")


class Fields(TypedDict, total=False):
    """What a test may set beyond ``birthday``'s own: ``CalendarEvent.create``'s options."""

    is_special_event: bool
    recurrence: str
    notes: str


def birthday(
    event_date: date | datetime = date(1990, 6, 1), **fields: Unpack[Fields]
) -> CalendarEvent:
    return CalendarEvent.create(
        actor="alice", person=person(), title="Birthday", event_date=event_date, **fields
    )


def test_an_event_belongs_to_its_persons_user_and_keeps_a_canonical_date() -> None:
    all_day = birthday(date(1990, 6, 1), recurrence="yearly")
    moment = birthday(datetime(2026, 6, 1, 10, 30, tzinfo=timezone(timedelta(hours=2))))

    assert (all_day.user_id, all_day.event_date, all_day.all_day) == ("alice", "1990-06-01", True)
    assert (moment.event_date, moment.all_day) == ("2026-06-01T08:30:00Z", False)


def test_an_event_needs_a_person_who_is_not_deleted() -> None:
    gone = person()
    gone.delete("alice")

    with pytest.raises(PersonDeletedError):
        CalendarEvent.create(
            actor="alice", person=gone, title="Birthday", event_date=date(1990, 6, 1)
        )


def test_recurrence_is_one_of_four_on_create_and_update() -> None:
    with pytest.raises(InvalidRecurrenceError):
        birthday(recurrence="daily")
    event = birthday()
    with pytest.raises(InvalidRecurrenceError):
        event.update("alice", {"recurrence": "fortnightly"})


def test_an_instant_needs_an_offset() -> None:
    with pytest.raises(NaiveDateTimeError):
        birthday(datetime(2026, 6, 1, 10, 30))


@pytest.mark.parametrize(
    "event_date",
    [
        date(1, 12, 31),
        date(9999, 1, 1),
        datetime(9998, 12, 31, 23, tzinfo=MINUS_FIVE),  # 9999-01-01 in UTC
        datetime(9999, 12, 31, 23, tzinfo=MINUS_FIVE),  # beyond Python's calendar in UTC
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),  # before it
    ],
)
def test_dates_outside_the_calendar_are_refused(event_date: date | datetime) -> None:
    with pytest.raises(DateOutOfRangeError):
        birthday(event_date)
    with pytest.raises(DateOutOfRangeError):
        birthday().update("alice", {"event_date": event_date})


@pytest.mark.parametrize(
    "event_date", [date(2, 1, 1), date(9998, 12, 31), datetime(9998, 12, 31, 23, 59, tzinfo=UTC)]
)
def test_the_ends_of_the_calendar_are_kept(event_date: date | datetime) -> None:
    assert birthday(event_date).event_date.startswith(event_date.isoformat()[:10])


def test_an_update_records_only_what_changed() -> None:
    event = birthday()
    event.collect_events()

    event.update("alice", {"title": "Birthday", "notes": "cake", "event_date": date(1990, 6, 1)})
    event.update("alice", {"title": "Birthday"})

    (updated,) = event.collect_events()
    assert isinstance(updated, CalendarEvent.Updated)
    assert updated.changes == {"notes": "cake"}


def test_a_deleted_event_cannot_change() -> None:
    event = birthday()
    event.delete("alice")

    with pytest.raises(EventGoneError):
        event.update("alice", {"title": "Still here?"})
    with pytest.raises(EventGoneError):
        event.delete("alice")


def test_an_event_hidden_with_its_person_cannot_change_until_shown() -> None:
    event = birthday()
    event.hide_with_person("alice")

    with pytest.raises(EventGoneError):
        event.update("alice", {"title": "Hidden"})
    event.show_with_person("alice")
    event.update("alice", {"title": "Shown"})

    assert (event.title, event.is_hidden) == ("Shown", False)


def test_a_deleted_event_stays_deleted_when_its_person_comes_and_goes() -> None:
    event = birthday()
    event.delete("alice")
    event.collect_events()

    event.hide_with_person("alice")
    event.show_with_person("alice")

    assert event.collect_events() == []
    assert event.is_deleted
