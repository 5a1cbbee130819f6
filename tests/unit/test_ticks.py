"""The scheduler's tick falls on the wall clock's marks, whenever beat started."""

from __future__ import annotations

from datetime import UTC, datetime

from freezegun import freeze_time

from pcem.processors.ticks import aligned


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
