"""When reminders are due, across the world's clocks, and whether they are still to be sent."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

from pcem.aggregates.occurrences import Schedule
from pcem.aggregates.reminders import (
    CANCELLED,
    DUE_BEFORE_SCHEDULED,
    NOTIFICATIONS_DISABLED,
    PERSON_DELETED,
    SCHEDULED,
    Standing,
    channel_keys,
    due_at,
    held_back_by,
    reminder_id,
    reminders,
    standing,
)
from pcem.aggregates.settings import Preferences
from tests.calendar_oracle import ZONES


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


EMAIL = {"type": "email", "address": "a@example.org"}
IN_APP = {"type": "in_app"}


@pytest.mark.parametrize(
    ("zone", "day", "lead", "expected"),
    [
        ("Europe/Berlin", date(2027, 1, 20), 7, utc(2027, 1, 13, 8)),  # CET +1
        ("Europe/Berlin", date(2027, 6, 20), 7, utc(2027, 6, 13, 7)),  # CEST +2
        ("America/St_Johns", date(2027, 2, 10), 0, utc(2027, 2, 10, 12, 30)),  # -3:30
        ("America/St_Johns", date(2027, 6, 10), 1, utc(2027, 6, 9, 11, 30)),  # -2:30
        ("Pacific/Kiritimati", date(2027, 3, 10), 0, utc(2027, 3, 9, 19)),  # +14: the day before
        ("Pacific/Pago_Pago", date(2027, 3, 10), 0, utc(2027, 3, 10, 20)),  # -11
        ("Australia/Lord_Howe", date(2027, 7, 10), 1, utc(2027, 7, 8, 22, 30)),  # +10:30
        ("Australia/Lord_Howe", date(2027, 1, 10), 1, utc(2027, 1, 8, 22)),  # +11
        ("Asia/Kolkata", date(2027, 3, 10), 7, utc(2027, 3, 3, 3, 30)),  # +5:30
        ("America/Los_Angeles", date(2027, 3, 10), 0, utc(2027, 3, 10, 17)),  # PST -8
        ("America/Los_Angeles", date(2027, 3, 20), 0, utc(2027, 3, 20, 16)),  # PDT -7
    ],
)
def test_a_reminder_is_due_at_the_delivery_time_local_lead_days_before(
    zone: str, day: date, lead: int, expected: datetime
) -> None:
    assert due_at(day, lead, "09:00", ZoneInfo(zone)) == expected


@pytest.mark.parametrize(
    ("day", "lead", "expected"),
    [
        # Berlin springs forward on Sunday 28 March 2027 at 02:00 (CET -> CEST).
        (date(2027, 3, 29), 7, utc(2027, 3, 22, 8)),  # still CET
        (date(2027, 3, 29), 1, utc(2027, 3, 28, 7)),  # the switch day: already CEST
        (date(2027, 3, 29), 0, utc(2027, 3, 29, 7)),
        # ... and falls back on Sunday 31 October 2027 at 03:00 (CEST -> CET).
        (date(2027, 11, 1), 1, utc(2027, 10, 31, 8)),  # the switch day: already CET
        (date(2027, 11, 1), 2, utc(2027, 10, 30, 7)),  # still CEST
    ],
)
def test_berlin_reminders_keep_0900_local_across_both_dst_switches(
    day: date, lead: int, expected: datetime
) -> None:
    assert due_at(day, lead, "09:00", ZoneInfo("Europe/Berlin")) == expected


@pytest.mark.parametrize(
    ("zone", "day", "delivery", "expected"),
    [
        # Skipped wall-clock times: the first instant after the gap.
        ("Europe/Berlin", date(2027, 3, 28), "02:30", utc(2027, 3, 28, 1)),  # 03:00 CEST
        ("America/Los_Angeles", date(2027, 3, 14), "02:30", utc(2027, 3, 14, 10)),  # 03:00 PDT
        ("America/St_Johns", date(2027, 3, 14), "02:30", utc(2027, 3, 14, 5, 30)),  # 03:00 NDT
        ("Australia/Lord_Howe", date(2027, 10, 3), "02:15", utc(2027, 10, 2, 15, 30)),  # 02:30
        # Wall-clock times shown twice: the first of the two.
        ("Europe/Berlin", date(2027, 10, 31), "02:30", utc(2027, 10, 31, 0, 30)),  # CEST
        ("America/Los_Angeles", date(2027, 11, 7), "01:30", utc(2027, 11, 7, 8, 30)),  # PDT
        ("Australia/Lord_Howe", date(2027, 4, 4), "01:45", utc(2027, 4, 3, 14, 45)),  # +11
    ],
)
def test_a_delivery_time_in_a_gap_or_overlap_is_due_once_at_its_first_valid_instant(
    zone: str, day: date, delivery: str, expected: datetime
) -> None:
    assert due_at(day, 0, delivery, ZoneInfo(zone)) == expected


@pytest.mark.parametrize(
    ("occurrence", "lead", "expected"),
    [
        (date(2027, 6, 1), 365, utc(2026, 6, 1, 9)),
        (date(2028, 2, 29), 365, utc(2027, 3, 1, 9)),  # a leap year back lands on 1 March
        (date(2028, 2, 29), 1, utc(2028, 2, 28, 9)),
        (date(2027, 3, 1), 1, utc(2027, 2, 28, 9)),
        (date(2028, 3, 1), 1, utc(2028, 2, 29, 9)),
        (date(2027, 1, 1), 7, utc(2026, 12, 25, 9)),
    ],
)
def test_lead_days_are_counted_on_the_calendar(
    occurrence: date, lead: int, expected: datetime
) -> None:
    assert due_at(occurrence, lead, time(9), ZoneInfo("UTC")) == expected


@pytest.mark.parametrize(
    "now", ["2027-03-28T01:00:00Z", "2027-10-31T00:45:00Z", "2030-01-01T00:00:00Z"]
)
def test_due_times_do_not_depend_on_the_clock(now: str) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    with freeze_time(now):
        due = [
            due_at(date(2027, 3, 28), 0, "02:30", berlin),
            due_at(date(2027, 10, 31), 0, "02:30", berlin),
        ]

    assert due == [utc(2027, 3, 28, 1), utc(2027, 10, 31, 0, 30)]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31)),
    lead=st.sampled_from([0, 1, 7, 365]),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45, 59]),
)
def test_a_due_time_shows_the_delivery_time_on_the_lead_day_unless_the_clocks_skip_it(
    zone: str, day: date, lead: int, hour: int, minute: int
) -> None:
    tz, wall = ZoneInfo(zone), time(hour, minute)

    due = due_at(day, lead, wall, tz)

    local, intended = due.astimezone(tz), datetime.combine(day - timedelta(days=lead), wall)
    if local.replace(tzinfo=None) == intended:
        assert local.fold == 0  # shown twice: the first of the two
    else:  # skipped: the first instant after the gap
        just_before = (due - timedelta(seconds=1)).astimezone(tz).replace(tzinfo=None)
        assert just_before < intended < local.replace(tzinfo=None)


def preferences(**fields: Any) -> Preferences:
    defaults: dict[str, Any] = {"timezone": "Europe/Berlin", "channels": (EMAIL, IN_APP)}
    return Preferences(**{**defaults, **fields})


def test_each_occurrence_has_a_reminder_per_lead_time_and_channel() -> None:
    birthday = Schedule(True, date(1990, 3, 29), "yearly")

    found = list(reminders(birthday, preferences(), utc(2027, 3, 1), utc(2027, 4, 10)))

    assert sorted((r.lead_time_days, r.channel, r.due_at) for r in found) == [
        (0, "email", utc(2027, 3, 29, 7)),
        (0, "in_app", utc(2027, 3, 29, 7)),
        (1, "email", utc(2027, 3, 28, 7)),
        (1, "in_app", utc(2027, 3, 28, 7)),
        (7, "email", utc(2027, 3, 22, 8)),
        (7, "in_app", utc(2027, 3, 22, 8)),
    ]
    assert {r.occurrence.local_date for r in found} == {date(2027, 3, 29)}


def test_only_reminders_due_in_the_window_of_occurrences_not_yet_past_are_listed() -> None:
    weekly = Schedule(True, date(2027, 1, 4), "weekly")  # Mondays
    prefs = preferences(lead_time_days=(0, 7), channels=(IN_APP,), timezone="UTC")

    found = reminders(weekly, prefs, utc(2027, 3, 1), utc(2027, 3, 16), due_from=utc(2027, 3, 8))

    # Due 8..15 March: Monday 8th and 15th with no lead, 15th and 22nd a week ahead.
    assert sorted((r.occurrence.local_date, r.lead_time_days) for r in found) == [
        (date(2027, 3, 8), 0),
        (date(2027, 3, 15), 0),
        (date(2027, 3, 15), 7),
        (date(2027, 3, 22), 7),
    ]


def test_a_yearly_29_february_is_reminded_of_on_28_february_in_other_years() -> None:
    leapling = Schedule(True, date(1996, 2, 29), "yearly")
    prefs = preferences(lead_time_days=(0, 1), channels=(IN_APP,), timezone="UTC")

    found = reminders(leapling, prefs, utc(2027, 2, 1), utc(2027, 3, 10))

    assert sorted((r.occurrence.local_date, r.due_at) for r in found) == [
        (date(2027, 2, 28), utc(2027, 2, 27, 9)),
        (date(2027, 2, 28), utc(2027, 2, 28, 9)),
    ]


def test_a_365_day_lead_is_listed_a_year_ahead_and_until_its_occurrence() -> None:
    birthday = Schedule(True, date(1990, 3, 20), "yearly")
    prefs = preferences(lead_time_days=(365,), channels=(IN_APP,), timezone="UTC")

    found = reminders(birthday, prefs, utc(2027, 3, 1), utc(2027, 4, 10))

    assert sorted((r.occurrence.local_date, r.due_at) for r in found) == [
        (date(2027, 3, 20), utc(2026, 3, 20, 9)),  # long due, its occurrence still ahead
        (date(2028, 3, 20), utc(2027, 3, 21, 9)),
    ]


def test_a_channel_is_its_type_and_rank_so_an_edited_address_is_the_same_channel() -> None:
    webhook = {"type": "webhook", "url": "https://hooks.example/a", "secret": "s" * 20}
    corrected = {**webhook, "url": "https://hooks.example/b", "secret": "t" * 20}
    other = {"type": "email", "address": "b@example.org"}

    assert list(channel_keys([IN_APP, EMAIL, webhook])) == ["in_app", "email", "webhook"]
    assert channel_keys([corrected])["webhook"] == corrected  # its reminders go there now
    assert list(channel_keys([EMAIL, other, IN_APP])) == ["email", "email#2", "in_app"]
    assert list(channel_keys([EMAIL, dict(EMAIL)])) == ["email"]  # listed twice, one channel
    assert not any("@" in key for key in channel_keys([EMAIL, other]))


def test_the_same_channel_twice_is_reminded_once() -> None:
    birthday = Schedule(True, date(1990, 3, 29), "yearly")
    prefs = preferences(lead_time_days=(0,), channels=(EMAIL, dict(EMAIL)))

    assert len(list(reminders(birthday, prefs, utc(2027, 3, 1), utc(2027, 4, 10)))) == 1


def test_a_reminder_id_is_its_key_and_nothing_else() -> None:
    event = uuid4()

    assert reminder_id(event, date(2027, 3, 29), 7, "in_app") == reminder_id(
        event, date(2027, 3, 29), 7, "in_app"
    )
    assert len({
        reminder_id(event, date(2027, 3, 29), 7, "in_app"),
        reminder_id(event, date(2027, 3, 29), 1, "in_app"),
        reminder_id(event, date(2028, 3, 29), 7, "in_app"),
        reminder_id(event, date(2027, 3, 29), 7, "email"),
        reminder_id(uuid4(), date(2027, 3, 29), 7, "in_app"),
    }) == 5  # fmt: skip


def test_what_the_user_can_undo_holds_reminders_back() -> None:
    assert held_back_by(person_deleted=True, enabled=False) == PERSON_DELETED
    assert held_back_by(person_deleted=False, enabled=False) == NOTIFICATIONS_DISABLED
    assert held_back_by(person_deleted=False, enabled=True) is None


DUE = utc(2027, 3, 5, 8)


@pytest.mark.parametrize(
    ("held_back", "at", "before", "expected"),
    [
        (None, utc(2027, 3, 5, 7), None, (SCHEDULED, None)),
        (None, utc(2027, 3, 5, 9), None, (CANCELLED, DUE_BEFORE_SCHEDULED)),  # asked too late
        (None, None, None, (SCHEDULED, None)),  # the window's edge moved: no one asked late
        (PERSON_DELETED, utc(2027, 3, 1), None, (CANCELLED, PERSON_DELETED)),
        # Scheduled in time, and still due then: stays, also once the time has passed.
        (None, utc(2027, 3, 6), Standing(DUE, SCHEDULED, None), (SCHEDULED, None)),
        # Moved: decided afresh.
        (None, utc(2027, 3, 6), Standing(DUE - timedelta(hours=1), SCHEDULED, None),
         (CANCELLED, DUE_BEFORE_SCHEDULED)),
        (None, utc(2027, 3, 4), Standing(DUE - timedelta(hours=1), SCHEDULED, None),
         (SCHEDULED, None)),
        # Wanted again after being held back: as if new.
        (None, utc(2027, 3, 6), Standing(DUE, CANCELLED, NOTIFICATIONS_DISABLED),
         (CANCELLED, DUE_BEFORE_SCHEDULED)),
        (None, utc(2027, 3, 4), Standing(DUE, CANCELLED, PERSON_DELETED), (SCHEDULED, None)),
        (None, utc(2027, 3, 6), Standing(DUE, CANCELLED, DUE_BEFORE_SCHEDULED),
         (CANCELLED, DUE_BEFORE_SCHEDULED)),
        (NOTIFICATIONS_DISABLED, utc(2027, 3, 4), Standing(DUE, SCHEDULED, None),
         (CANCELLED, NOTIFICATIONS_DISABLED)),
    ],
)  # fmt: skip
def test_a_reminder_is_never_scheduled_for_a_time_already_past_when_asked_for(
    held_back: str | None,
    at: datetime | None,
    before: Standing | None,
    expected: tuple[str, str | None],
) -> None:
    assert standing(DUE, held_back=held_back, at=at, before=before) == expected
