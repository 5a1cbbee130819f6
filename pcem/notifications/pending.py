"""Reminders not due yet, read as the notifications they will be (API.md: "the list
shows what is coming, too").

The schedule (a read model, ``pcem.projections.schedule``) holds every reminder of
its window; the ledger makes a notification of each when it falls due, keyed by
the schedule row's id and worded from the row's names. So a reminder still to come
is listed with that same id and wording, ``scheduled``, no attempt made: once it
is a notification, the ledger's row is listed instead. A reminder the schedule
holds back (its person deleted, notifications off) is not coming, and not listed.
"""

from __future__ import annotations

from typing import Any

from pcem.aggregates.wording import reminder

# In the order of ``inbox.COLUMNS``; the title and body columns carry the person's
# name and the event's title, for ``worded`` (a row carries no wording of its own).
COLUMNS = (
    "s.id, s.event_id, s.person_id, s.channel, s.lead_time_days, s.occurrence_date,"
    " s.due_at, 'scheduled', 0, NULL, NULL, NULL, s.person_name, s.title"
)
# The user's reminders still to become notifications; the NOT EXISTS drops each the
# moment the ledger has it.
MINE = (
    "s.user_id = %(user_id)s AND s.status = 'scheduled'"
    " AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id = s.id)"
)


def worded(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row of ``COLUMNS`` with the title and body the ledger will give it."""
    *fields, person_name, event_title = row
    _, _, _, _, lead_time_days, occurrence_date, *_ = fields
    wording = reminder(person_name, event_title, lead_time_days, occurrence_date)
    return (*fields, wording.title, wording.body)
