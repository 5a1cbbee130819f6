"""The digest across a change of daylight saving time: reminders are grouped by the UTC
minute they fall due, so a day whose local delivery time is missing (spring) or comes
twice (autumn) still sends each day's reminders as one message, once.

The user is in Berlin, reminded the day before and on the day at 02:30 local: the
wall-clock time that does not exist on 28 March 2027 and happens twice on 31 October.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest

from pcem.settings import Settings
from tests.integration.digest_helpers import EMAIL, Digests, digests_of
from tests.integration.schedule_helpers import utc

AT_HALF_PAST_TWO = {"delivery_time": "02:30", "lead_time_days": (1, 0)}


@pytest.fixture
def spring(isolated: Settings) -> Iterator[Digests]:
    yield from digests_of(isolated, today=date(2027, 3, 20))


@pytest.fixture
def autumn(isolated: Settings) -> Iterator[Digests]:
    yield from digests_of(isolated, today=date(2027, 10, 20))


def sent_at(digests: Digests, moment: datetime) -> list[str]:
    """The subjects of the emails the tick at ``moment`` and its deliveries sent."""
    before = len(digests.mailbox.received)
    outcomes = digests.deliver_each(digests.tick(moment), moment)
    assert set(outcomes) <= {"sent", "skipped"}
    return [mail["Subject"] for mail in digests.mailbox.messages()[before:]]


def test_the_reminders_of_the_day_the_clocks_go_forward_are_one_email(spring: Digests) -> None:
    spring.prefer(EMAIL, **AT_HALF_PAST_TWO)
    spring.birthdays("Anna", "Ben", on=date(1990, 3, 28))
    spring.birthdays("Cleo", on=date(1990, 3, 29))

    # 27 March, 02:30 CET: Anna's and Ben's "tomorrow"
    assert sent_at(spring, utc(2027, 3, 27, 1, 29)) == []
    assert sent_at(spring, utc(2027, 3, 27, 1, 30)) == ["2 reminders"]
    # 28 March: 02:30 never comes, the reminders leave at the end of the gap, 03:00 CEST
    assert sent_at(spring, utc(2027, 3, 28, 1, 0)) == ["3 reminders"]
    # 29 March, 02:30 CEST: Cleo's "today", alone
    assert sent_at(spring, utc(2027, 3, 29, 0, 30)) == ["Cleo Lovelace's birthday is today"]
    assert sent_at(spring, utc(2027, 3, 30, 12)) == []


def test_the_reminders_of_the_day_the_clocks_go_back_are_one_email_sent_once(
    autumn: Digests,
) -> None:
    autumn.prefer(EMAIL, **AT_HALF_PAST_TWO)
    autumn.birthdays("Anna", "Ben", on=date(1990, 10, 31))
    autumn.birthdays("Cleo", on=date(1990, 11, 1))
    assert sent_at(autumn, utc(2027, 10, 30, 0, 30)) == ["2 reminders"]  # 02:30 CEST

    # 31 October: the first 02:30 (CEST) sends the day's three; the second (CET) nothing
    assert sent_at(autumn, utc(2027, 10, 31, 0, 30)) == ["3 reminders"]
    assert sent_at(autumn, utc(2027, 10, 31, 1, 30)) == []
    # 1 November, 02:30 CET: Cleo's "today"
    assert sent_at(autumn, utc(2027, 11, 1, 1, 30)) == ["Cleo Lovelace's birthday is today"]
