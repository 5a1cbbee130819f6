"""Reminders read as a person would say them, on the user's own calendar date."""

from __future__ import annotations

from datetime import date

import pytest

from pcem.aggregates.wording import digest, reminder

BIRTHDAY = date(2026, 11, 28)  # a Saturday


def test_a_week_ahead_names_the_weekday_and_the_date() -> None:
    wording = reminder("Anna Smith", "Birthday", 7, BIRTHDAY)

    assert wording.title == "Anna Smith's birthday is in 7 days"
    assert wording.body == "Anna Smith's birthday is in 7 days — Saturday 28 November"


@pytest.mark.parametrize(
    ("lead_days", "when"), [(0, "is today"), (1, "is tomorrow"), (2, "is in 2 days")]
)
def test_today_and_tomorrow_are_said_in_words(lead_days: int, when: str) -> None:
    wording = reminder("Anna Smith", "Birthday", lead_days, BIRTHDAY)

    assert wording.body == f"Anna Smith's birthday {when} — Saturday 28 November"


def test_the_year_is_given_when_the_day_falls_in_another_year_than_the_reminder() -> None:
    new_year = reminder("Anna Smith", "Birthday", 7, date(2027, 1, 2))
    a_year_ahead = reminder("Anna Smith", "Birthday", 365, date(2027, 11, 28))

    assert new_year.body.endswith("is in 7 days — Saturday 2 January 2027")
    assert a_year_ahead.body.endswith("is in 365 days — Sunday 28 November 2027")


@pytest.mark.parametrize(
    ("title", "phrase"),
    [
        ("Birthday", "birthday"),
        ("Wedding anniversary", "wedding anniversary"),
        ("IBM party", "IBM party"),
        ("iPhone launch", "iPhone launch"),
        ("name day", "name day"),
        (" Graduation ", "graduation"),
    ],
)
def test_the_event_title_reads_as_a_common_noun_unless_it_looks_like_a_name(
    title: str, phrase: str
) -> None:
    assert reminder("Anna", title, 0, BIRTHDAY).title == f"Anna's {phrase} is today"


def test_non_ascii_names_are_kept_and_html_is_escaped() -> None:
    wording = reminder("Zoë <Ångström> & co", "Birthday", 1, BIRTHDAY)

    assert wording.title == "Zoë <Ångström> & co's birthday is tomorrow"
    assert "<p>Zoë &lt;Ångström&gt; &amp; co&#x27;s birthday is tomorrow — Saturday" in wording.html
    assert "<Ångström>" not in wording.html


def test_a_reminder_after_its_day_is_refused() -> None:
    with pytest.raises(ValueError, match="before its day"):
        reminder("Anna", "Birthday", -1, BIRTHDAY)


def test_a_digest_counts_its_reminders_and_lists_each_on_a_line() -> None:
    worded = digest(["Ada's birthday is today — Monday 1 March", "Bo & Co's party is today"])

    assert worded.title == "2 reminders"
    assert worded.body.splitlines() == [
        "2 reminders:",
        "- Ada's birthday is today — Monday 1 March",
        "- Bo & Co's party is today",
    ]
    assert "<li>Bo &amp; Co&#x27;s party is today</li>" in worded.html
