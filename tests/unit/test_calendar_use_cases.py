"""The calendar use cases (CalendarApplication) on the in-memory event store: the dates
that matter about a person, as a user records, edits and deletes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from pcem.aggregates.event import (
    CalendarEvent,
    DateOutOfRangeError,
    EventGoneError,
    InvalidRecurrenceError,
    NaiveDateTimeError,
)
from pcem.aggregates.occurrences import occurrences
from pcem.aggregates.ownership import FieldNotUpdatableError, NotFoundError
from pcem.aggregates.person import Person, PersonDeletedError
from pcem.commands.base import VersionMismatchError
from pcem.commands.calendar import CalendarApplication
from tests.unit.in_memory import InMemoryPcem, in_memory_pcem

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def pcem() -> InMemoryPcem:
    return in_memory_pcem()


@pytest.fixture
def calendar(pcem: InMemoryPcem) -> CalendarApplication:
    return pcem.calendar


@pytest.fixture
def ada(pcem: InMemoryPcem) -> UUID:
    return pcem.people.create_person("alice", first_name="Ada").aggregate.id


def new_event(calendar: CalendarApplication, person_id: UUID, **fields: Any) -> UUID:
    defaults = {"title": "Birthday", "event_date": date(1990, 5, 31)}
    return calendar.create_event("alice", person_id, **(defaults | fields)).aggregate.id


def stored(calendar: CalendarApplication, event_id: UUID, user: str = "alice") -> CalendarEvent:
    return calendar.get_owned(user, event_id, CalendarEvent)


def person(pcem: InMemoryPcem, person_id: UUID) -> Person:
    return pcem.people.get_owned("alice", person_id, Person)


def local_dates(event: CalendarEvent, first: date, last: date) -> list[date]:
    """The local dates (Berlin) the event falls on from ``first`` up to ``last``."""
    start, end = (datetime.combine(d, datetime.min.time(), BERLIN) for d in (first, last))
    return [o.local_date for o in occurrences(event.schedule, BERLIN, start, end)]


def test_an_all_day_event_is_recorded_with_its_person(
    pcem: InMemoryPcem, calendar: CalendarApplication, ada: UUID
) -> None:
    # when
    written = calendar.create_event(
        "alice",
        ada,
        title="Birthday",
        event_date=date(1990, 5, 31),
        is_special_event=True,
        recurrence="yearly",
        notes="likes tulips",
    )

    # then
    event = stored(calendar, written.aggregate.id)
    assert (event.title, event.event_date, event.all_day) == ("Birthday", "1990-05-31", True)
    assert (event.is_special_event, event.recurrence) == (True, "yearly")
    assert event.notes == "likes tulips"
    assert event.person_id == ada
    assert person(pcem, ada).event_ids == {written.aggregate.id}


def test_an_event_and_its_persons_record_of_it_are_written_together(
    pcem: InMemoryPcem, calendar: CalendarApplication, ada: UUID
) -> None:
    # given
    before = pcem.people.create_person("alice", first_name="Charles").position

    # when
    written = calendar.create_event("alice", ada, title="Birthday", event_date=date(1990, 5, 31))

    # then: one write, at the next two positions of the one event store
    assert written.position == before + 2
    assert person(pcem, ada).version == 2


def test_an_instant_is_kept_in_utc(calendar: CalendarApplication, ada: UUID) -> None:
    # when
    event_id = new_event(
        calendar, ada, title="Call", event_date=datetime(2026, 6, 1, 10, 30, tzinfo=BERLIN)
    )

    # then
    event = stored(calendar, event_id)
    assert (event.event_date, event.all_day) == ("2026-06-01T08:30:00Z", False)


def test_an_instant_without_an_offset_is_refused_and_nothing_is_recorded(
    pcem: InMemoryPcem, calendar: CalendarApplication, ada: UUID
) -> None:
    with pytest.raises(NaiveDateTimeError):
        new_event(calendar, ada, event_date=datetime(2026, 6, 1, 10, 30))

    assert person(pcem, ada).event_ids == set()
    assert person(pcem, ada).version == 1


@pytest.mark.parametrize("event_date", [date(1, 12, 31), date(9999, 1, 1)])
def test_a_date_outside_the_calendar_is_refused(
    calendar: CalendarApplication, ada: UUID, event_date: date
) -> None:
    with pytest.raises(DateOutOfRangeError):
        new_event(calendar, ada, event_date=event_date)
    event_id = new_event(calendar, ada)
    with pytest.raises(DateOutOfRangeError):
        calendar.update_event("alice", event_id, {"event_date": event_date})
    assert stored(calendar, event_id).event_date == "1990-05-31"


def test_an_unknown_recurrence_is_refused_on_create_and_edit(
    calendar: CalendarApplication, ada: UUID
) -> None:
    with pytest.raises(InvalidRecurrenceError):
        new_event(calendar, ada, recurrence="daily")
    event_id = new_event(calendar, ada, recurrence="yearly")
    with pytest.raises(InvalidRecurrenceError):
        calendar.update_event("alice", event_id, {"recurrence": "fortnightly"})
    assert stored(calendar, event_id).recurrence == "yearly"


@pytest.mark.parametrize(
    ("recurrence", "falls_on"),
    [
        ("none", []),
        ("yearly", [date(2024, 5, 31)]),
        ("monthly", [date(2024, 4, 30), date(2024, 5, 31), date(2024, 6, 30)]),
        ("weekly", [date(2024, 4, 11) + timedelta(weeks=n) for n in range(12)]),  # Thursdays
    ],
)
def test_an_event_recurs_by_its_rule(
    calendar: CalendarApplication, ada: UUID, recurrence: str, falls_on: list[date]
) -> None:
    # given a birthday on Thursday 31 May 1990
    event_id = new_event(calendar, ada, event_date=date(1990, 5, 31), recurrence=recurrence)

    # when
    dates = local_dates(stored(calendar, event_id), date(2024, 4, 10), date(2024, 7, 1))

    # then
    assert dates == falls_on


def test_an_edited_event_keeps_the_changes_at_the_next_version(
    calendar: CalendarApplication, ada: UUID
) -> None:
    # given a yearly birthday
    event_id = new_event(calendar, ada, recurrence="yearly")

    # when it becomes a monthly meeting at 10:00 Berlin time
    written = calendar.update_event(
        "alice",
        event_id,
        {
            "title": "Meeting",
            "event_date": datetime(2024, 1, 31, 10, tzinfo=BERLIN),
            "recurrence": "monthly",
            "notes": "bring slides",
        },
    )

    # then
    event = stored(calendar, event_id)
    assert (event.title, event.notes, event.version) == ("Meeting", "bring slides", 2)
    assert written.aggregate.version == 2
    assert event.event_date == "2024-01-31T09:00:00Z"
    assert local_dates(event, date(2024, 2, 1), date(2024, 4, 1)) == [
        date(2024, 2, 29),
        date(2024, 3, 31),
    ]


def test_an_edit_that_changes_nothing_keeps_the_version(
    calendar: CalendarApplication, ada: UUID
) -> None:
    event_id = new_event(calendar, ada, title="Birthday")

    written = calendar.update_event("alice", event_id, {"title": "Birthday"})

    assert written.position == 0
    assert stored(calendar, event_id).version == 1


def test_an_events_person_cannot_be_changed(calendar: CalendarApplication, ada: UUID) -> None:
    event_id = new_event(calendar, ada)

    with pytest.raises(FieldNotUpdatableError):
        calendar.update_event("alice", event_id, {"person_id": uuid4()})

    assert stored(calendar, event_id).person_id == ada


def test_an_edit_at_a_stale_version_is_refused_naming_the_current_one(
    calendar: CalendarApplication, ada: UUID
) -> None:
    # given version 2
    event_id = new_event(calendar, ada)
    calendar.update_event("alice", event_id, {"title": "Birthday!"})

    # when / then
    with pytest.raises(VersionMismatchError) as mismatch:
        calendar.update_event("alice", event_id, {"title": "Party"}, expected_version=1)
    assert mismatch.value.current_version == 2
    with pytest.raises(VersionMismatchError):
        calendar.delete_event("alice", event_id, expected_version=1)
    assert stored(calendar, event_id).title == "Birthday!"
    assert stored(calendar, event_id).is_visible


def test_a_deleted_event_leaves_its_person_and_cannot_be_edited_or_deleted_again(
    pcem: InMemoryPcem, calendar: CalendarApplication, ada: UUID
) -> None:
    # given
    kept, removed = new_event(calendar, ada, title="Kept"), new_event(calendar, ada)

    # when
    calendar.delete_event("alice", removed, expected_version=1)

    # then
    assert not stored(calendar, removed).is_visible
    assert person(pcem, ada).event_ids == {kept}
    with pytest.raises(EventGoneError):
        calendar.update_event("alice", removed, {"title": "Back?"})
    with pytest.raises(EventGoneError):
        calendar.delete_event("alice", removed)


def test_an_event_for_a_deleted_person_is_refused(
    pcem: InMemoryPcem, calendar: CalendarApplication, ada: UUID
) -> None:
    # given
    pcem.people.delete_person("alice", ada)

    # when / then
    with pytest.raises(PersonDeletedError):
        new_event(calendar, ada)
    assert person(pcem, ada).event_ids == set()


def test_an_event_for_another_users_or_an_unknown_person_is_not_found(
    pcem: InMemoryPcem, calendar: CalendarApplication
) -> None:
    # given
    bobs = pcem.people.create_person("bob", first_name="Eve").aggregate.id

    # when / then
    with pytest.raises(NotFoundError):
        new_event(calendar, bobs)
    with pytest.raises(NotFoundError):
        new_event(calendar, uuid4())
    assert pcem.people.get_owned("bob", bobs, Person).event_ids == set()


def test_another_users_event_is_not_found_and_stays_as_it_was(
    calendar: CalendarApplication, ada: UUID
) -> None:
    # given
    event_id = new_event(calendar, ada, title="Birthday")

    # when / then
    with pytest.raises(NotFoundError):
        calendar.update_event("bob", event_id, {"title": "Mine now"})
    with pytest.raises(NotFoundError):
        calendar.delete_event("bob", event_id)
    with pytest.raises(NotFoundError):
        calendar.history("bob", event_id, CalendarEvent)
    event = stored(calendar, event_id)
    assert (event.title, event.version, event.is_visible) == ("Birthday", 1, True)


def test_a_person_is_not_an_event(pcem: InMemoryPcem, calendar: CalendarApplication) -> None:
    # given an id that is the user's own person's, not an event's
    person_id = pcem.people.create_person("alice", first_name="Ada").aggregate.id

    # when / then
    with pytest.raises(NotFoundError):
        calendar.update_event("alice", person_id, {"title": "Confused"})
    assert person(pcem, person_id).first_name == "Ada"


def test_an_events_history_lists_its_changes_oldest_first(
    calendar: CalendarApplication, ada: UUID
) -> None:
    # given
    event_id = new_event(calendar, ada)
    calendar.update_event("alice", event_id, {"recurrence": "yearly"})
    calendar.delete_event("alice", event_id)

    # when
    history = calendar.history("alice", event_id, CalendarEvent)

    # then
    assert [type(e).__name__ for e in history] == ["Created", "Updated", "Deleted"]
    assert history[1].changes == {"recurrence": "yearly"}  # type: ignore[union-attr]


def test_an_instant_is_the_same_moment_whatever_offset_it_was_given_in(
    calendar: CalendarApplication, ada: UUID
) -> None:
    # given the same moment in two offsets
    in_new_york = datetime(2026, 3, 1, 4, 30, tzinfo=timezone(timedelta(hours=-5)))
    in_utc = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

    # when
    ids = [new_event(calendar, ada, event_date=moment) for moment in (in_new_york, in_utc)]

    # then
    assert {stored(calendar, i).event_date for i in ids} == {"2026-03-01T09:30:00Z"}
