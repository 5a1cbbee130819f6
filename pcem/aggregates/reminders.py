"""Reminders of special events: when each is due, and whether it is still to be sent.

Pure code, no I/O. A reminder is one occurrence of a special event, one lead
time and one channel of the user's settings. It is due at the delivery time,
local wall-clock time in the user's zone, on the local date ``lead`` days
before the occurrence's local date - computed from that wall-clock time every
time, never by adding days to an earlier instant, so it stays at 09:00 across
DST. A delivery time the clocks skip (spring forward) is due at the first
instant after the gap; one they show twice (fall back) at the first of the two.

A reminder goes to one channel *slot* of the user's settings: the first email,
the second webhook... Editing a slot's address keeps its reminders (their ids are
the same, and they go to the new address); removing the slot removes them.

A reminder is ``scheduled`` unless something the user can undo holds it back
(their person deleted, notifications turned off: ``cancelled`` with that
reason), or it was already due when it was scheduled: a reminder is never sent
for a time that had passed before anyone asked for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

from pcem.aggregates.occurrences import Occurrence, Schedule, occurrences
from pcem.aggregates.settings import Preferences

SCHEDULED = "scheduled"
CANCELLED = "cancelled"
PERSON_DELETED = "person deleted"
NOTIFICATIONS_DISABLED = "notifications disabled"
DUE_BEFORE_SCHEDULED = "due before it was scheduled"

_NAMESPACE = uuid.UUID("0c6c2f4e-55d2-4b8e-9a57-3f4d7f3b8a61")
# A due time lies within a lead's days and a day or so of its occurrence's start:
# looking this much further on both sides finds every occurrence, then the filter is exact.
_SLACK = timedelta(days=3)


@dataclass(frozen=True)
class Reminder:
    occurrence: Occurrence
    lead_time_days: int
    channel: str  # the channel's type
    channel_key: str
    due_at: datetime  # UTC

    def id(self, event_id: UUID) -> UUID:
        return reminder_id(
            event_id, self.occurrence.local_date, self.lead_time_days, self.channel_key
        )


class Standing(NamedTuple):
    """What a reminder was before it was scheduled again."""

    due_at: datetime
    status: str
    cancel_reason: str | None


def due_at(
    occurrence_date: date, lead_days: int, delivery_time: str | time, zone: ZoneInfo
) -> datetime:
    """The UTC instant at which the reminder ``lead_days`` ahead of that local date is due."""
    wall = delivery_time if isinstance(delivery_time, time) else time.fromisoformat(delivery_time)
    return local_instant(datetime.combine(occurrence_date - timedelta(days=lead_days), wall), zone)


def local_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant a naive local wall-clock time stands for in ``zone``: the first of
    two in a fall-back overlap (fold 0), the end of the gap in a spring-forward one."""
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    return _end_of_gap(wall, zone)


def _end_of_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    # In a gap, fold 1 reads the wall time with the offset after the transition and
    # lands before it; fold 0 with the offset before, and lands after it. Every
    # instant before the transition shows an earlier wall time, every one from it on
    # a later one: bisect to the second.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).replace(tzinfo=None) > wall:
            after = middle
        else:
            before = middle
    return after


def channel_keys(channels: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The user's channels by a key stable across address edits: the type, and the
    channel's rank among those of its type ("email", "email#2"). The key holds no
    address, so a corrected URL keeps the reminders (and their ids); a channel
    listed twice, address and all, is one channel."""
    keyed: dict[str, Mapping[str, Any]] = {}
    for channel in channels:
        if channel in keyed.values():
            continue
        kind = str(channel["type"])
        rank = sum(1 for other in keyed.values() if other["type"] == kind) + 1
        keyed[kind if rank == 1 else f"{kind}#{rank}"] = channel
    return keyed


def reminder_id(event_id: UUID, occurrence_date: date, lead_days: int, key: str) -> UUID:
    """The reminder's identity, the same whenever and however often it is computed."""
    return uuid.uuid5(_NAMESPACE, f"{event_id}/{occurrence_date.isoformat()}/{lead_days}/{key}")


def reminders(
    schedule: Schedule,
    preferences: Preferences,
    occurs_from: datetime,
    due_until: datetime,
    due_from: datetime | None = None,
) -> Iterator[Reminder]:
    """The reminders of occurrences from ``occurs_from`` on that are due before
    ``due_until`` (and from ``due_from``, if given), for every lead time and channel."""
    zone = ZoneInfo(preferences.timezone)
    channels = {key: str(c["type"]) for key, c in channel_keys(preferences.channels).items()}
    for lead in preferences.lead_time_days:
        ahead = timedelta(days=lead)
        start = occurs_from if due_from is None else max(occurs_from, due_from + ahead - _SLACK)
        for occurrence in occurrences(schedule, zone, start, due_until + ahead + _SLACK):
            due = due_at(occurrence.local_date, lead, preferences.delivery_time, zone)
            if due < due_until and (due_from is None or due_from <= due):
                for key, kind in channels.items():
                    yield Reminder(occurrence, lead, kind, key, due)


def held_back_by(*, person_deleted: bool, enabled: bool) -> str | None:
    """Why the user's reminders of this event are not to be sent now (None: they are)."""
    if person_deleted:
        return PERSON_DELETED
    if not enabled:
        return NOTIFICATIONS_DISABLED
    return None


def standing(
    due: datetime, *, held_back: str | None, at: datetime | None, before: Standing | None
) -> tuple[str, str | None]:
    """A reminder's status and cancel reason, scheduled again at ``at``: the time of
    the event that asks for it (None: the window's edge moved, no one asked anew).

    A reminder that was to be sent at this same due time stays as it was, also once
    that time has passed (it may be on its way); one that is new, moved, or wanted
    again is cancelled if it was due before ``at``.
    """
    if held_back is not None:
        return CANCELLED, held_back
    if (
        before is not None
        and before.due_at == due
        and before.cancel_reason
        in (
            None,
            DUE_BEFORE_SCHEDULED,
        )
    ):
        return before.status, before.cancel_reason
    if at is not None and due < at:
        return CANCELLED, DUE_BEFORE_SCHEDULED
    return SCHEDULED, None
