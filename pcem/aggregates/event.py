"""The CalendarEvent aggregate: a date that matters about one of the user's people.

Named so it does not collide with eventsourcing's ``Aggregate.Event``. Rules: an
event belongs to a person who exists and is not deleted; its date is a calendar
date (all day) or an instant, between ``FIRST_DAY`` and ``LAST_DAY``; its
recurrence is one of ``RECURRENCES``; a deleted event cannot change; while its
person is deleted the event is hidden and cannot change either.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from pcem.aggregates.occurrences import FIRST_DAY, LAST_DAY, RECURRENCES, Schedule, in_calendar
from pcem.aggregates.ownership import (
    OwnedAggregate,
    OwnedEvent,
    Tombstone,
    check_updatable,
)
from pcem.aggregates.person import Person

EDITABLE_FIELDS = ("title", "event_date", "is_special_event", "recurrence", "notes")


class CalendarEvent(OwnedAggregate):
    class Created(OwnedEvent, Aggregate.Created):
        audit_type: ClassVar[str] = "EventCreated"
        person_id: UUID
        title: str
        event_date: str  # canonical: YYYY-MM-DD, or RFC 3339 UTC with Z
        is_special_event: bool
        recurrence: str
        notes: str

    class Updated(OwnedEvent):
        audit_type: ClassVar[str] = "EventUpdated"
        changes: dict[str, Any]

    class Deleted(OwnedEvent):
        audit_type: ClassVar[str] = "EventDeleted"

    class HiddenWithPerson(OwnedEvent):
        audit_type: ClassVar[str] = "EventHiddenWithPerson"

    class ShownWithPerson(OwnedEvent):
        audit_type: ClassVar[str] = "EventShownWithPerson"

    class PurgedWithPerson(Tombstone):
        """Erased for good with its person (``Person.Purged``)."""

        audit_type: ClassVar[str] = "EventPurged"

    @event(Created)
    def __init__(
        self,
        *,
        user_id: str,
        actor: str,
        person_id: UUID,
        title: str,
        event_date: str,
        is_special_event: bool,
        recurrence: str,
        notes: str,
    ) -> None:
        self.user_id = user_id
        self.person_id = person_id
        self.title = title
        self.event_date = event_date
        self.is_special_event = is_special_event
        self.recurrence = recurrence
        self.notes = notes
        self.is_deleted = False
        self.is_hidden = False

    @classmethod
    def create(
        cls,
        *,
        actor: str,
        person: Person,
        title: str,
        event_date: date | datetime,
        is_special_event: bool = False,
        recurrence: str = "none",
        notes: str = "",
        id: UUID | None = None,  # a chosen id (an import's, so a resumed one finds it)
    ) -> CalendarEvent:
        person.check_not_deleted()
        check_recurrence(recurrence)
        return cls._create(
            cls.Created,
            id=id,
            user_id=person.user_id,
            actor=actor,
            person_id=person.id,
            title=title,
            event_date=canonical_date(event_date),
            is_special_event=is_special_event,
            recurrence=recurrence,
            notes=notes,
        )

    @property
    def all_day(self) -> bool:
        return len(self.event_date) == len("YYYY-MM-DD")

    @property
    def schedule(self) -> Schedule:
        return schedule_of(self.event_date, self.recurrence)

    # Commands

    def update(self, actor: str, fields: dict[str, Any]) -> None:
        self.check_changeable()
        check_updatable(fields, EDITABLE_FIELDS)
        if "recurrence" in fields:
            check_recurrence(fields["recurrence"])
        if isinstance(fields.get("event_date"), date):
            fields = {**fields, "event_date": canonical_date(fields["event_date"])}
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if changes:
            self._updated(user_id=self.user_id, actor=actor, changes=changes)

    def delete(self, actor: str) -> None:
        self.check_changeable()
        self._deleted(user_id=self.user_id, actor=actor)

    def hide_with_person(self, actor: str) -> None:
        if not self.is_deleted and not self.is_hidden:
            self._hidden(user_id=self.user_id, actor=actor)

    def show_with_person(self, actor: str) -> None:
        if not self.is_deleted and self.is_hidden:
            self._shown(user_id=self.user_id, actor=actor)

    def purge_with_person(self, actor: str) -> None:
        self._purged(user_id=self.user_id, actor=actor)

    # Rules

    @property
    def is_visible(self) -> bool:
        return not (self.is_deleted or self.is_hidden or self.is_erased)

    def check_changeable(self) -> None:
        if self.is_deleted or self.is_hidden:
            raise EventGoneError(self.id)

    # Events applied

    @event(Updated)
    def _updated(self, user_id: str, actor: str, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, value)

    @event(Deleted)
    def _deleted(self, user_id: str, actor: str) -> None:
        self.is_deleted = True

    @event(HiddenWithPerson)
    def _hidden(self, user_id: str, actor: str) -> None:
        self.is_hidden = True

    @event(ShownWithPerson)
    def _shown(self, user_id: str, actor: str) -> None:
        self.is_hidden = False

    @event(PurgedWithPerson)
    def _purged(self, user_id: str, actor: str) -> None:
        self.is_erased = True


def canonical_date(value: date | datetime) -> str:
    """``YYYY-MM-DD`` for a calendar date, RFC 3339 in UTC with ``Z`` for an instant."""
    if isinstance(value, datetime) and value.tzinfo is None:
        raise NaiveDateTimeError()
    if not in_calendar(value):
        raise DateOutOfRangeError()
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def schedule_of(event_date: str, recurrence: str) -> Schedule:
    if len(event_date) == len("YYYY-MM-DD"):
        return Schedule(True, date.fromisoformat(event_date), recurrence)  # type: ignore[arg-type]
    return Schedule(False, datetime.fromisoformat(event_date), recurrence)  # type: ignore[arg-type]


def check_recurrence(recurrence: str) -> None:
    if recurrence not in RECURRENCES:
        raise InvalidRecurrenceError(recurrence)


class InvalidRecurrenceError(ValueError):
    def __init__(self, recurrence: str) -> None:
        super().__init__(f"recurrence must be one of {', '.join(RECURRENCES)}, not {recurrence!r}")


class NaiveDateTimeError(ValueError):
    def __init__(self) -> None:
        super().__init__("a date-time needs an offset (Z or ±hh:mm)")


class DateOutOfRangeError(ValueError):
    def __init__(self) -> None:
        super().__init__(f"must lie between {FIRST_DAY} and {LAST_DAY} (UTC for a date-time)")


class EventGoneError(LookupError):
    def __init__(self, event_id: UUID) -> None:
        super().__init__(f"event {event_id} not found")
