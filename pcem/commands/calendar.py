"""Use cases that change the dates that matter (calendar events)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.ownership import OwnedAggregate
from pcem.aggregates.person import Person
from pcem.commands.base import IdempotencyKey, PcemApplication, Written, check_version


class CalendarApplication(PcemApplication):
    def create_event(
        self,
        user_id: str,
        *,
        person_id: UUID,
        title: str,
        event_date: date | datetime,
        is_special_event: bool,
        recurrence: str,
        notes: str,
        idempotency: IdempotencyKey | None = None,
    ) -> Written[CalendarEvent]:
        """The event, and its person's record of it, in one transaction."""

        def unit() -> tuple[CalendarEvent, list[OwnedAggregate]]:
            person = self.get_owned(user_id, person_id, Person)
            calendar_event = CalendarEvent.create(
                actor=user_id,
                person=person,
                title=title,
                event_date=event_date,
                is_special_event=is_special_event,
                recurrence=recurrence,
                notes=notes,
            )
            person.attach_event(user_id, calendar_event.id)
            return calendar_event, [calendar_event, person]

        return self.transact(unit, idempotency=idempotency)

    def update_event(
        self,
        user_id: str,
        event_id: UUID,
        fields: dict[str, Any],
        *,
        expected_version: int | None = None,
    ) -> Written[CalendarEvent]:
        return self.change(
            user_id,
            event_id,
            CalendarEvent,
            lambda calendar_event: calendar_event.update(user_id, fields),
            expected_version=expected_version,
        )

    def delete_event(
        self, user_id: str, event_id: UUID, *, expected_version: int | None = None
    ) -> Written[CalendarEvent]:
        def unit() -> tuple[CalendarEvent, list[OwnedAggregate]]:
            calendar_event = self.get_owned(user_id, event_id, CalendarEvent)
            check_version(calendar_event, expected_version)
            calendar_event.delete(user_id)
            person = self.get_owned(user_id, calendar_event.person_id, Person)
            person.detach_event(user_id, event_id)
            return calendar_event, [calendar_event, person]

        return self.transact(unit, conditional=expected_version is not None)
