"""Use cases that change the dates that matter (calendar events)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.person import Person
from pcem.commands.base import PcemApplication, Written, retried_on_conflict


class CalendarApplication(PcemApplication):
    @retried_on_conflict
    def create_event(self, user_id: str, person_id: UUID, **fields: Any) -> Written[CalendarEvent]:
        """The event, and its person's record of it, in one transaction. ``fields``:
        the event's own (``CalendarEvent.create`` names and checks them)."""
        person = self.get_owned(user_id, person_id, Person)
        calendar_event = CalendarEvent.create(actor=user_id, person=person, **fields)
        person.attach_event(user_id, calendar_event.id)
        return self.saved(calendar_event, person)

    @retried_on_conflict
    def update_event(
        self,
        user_id: str,
        event_id: UUID,
        fields: dict[str, Any],
        *,
        expected_version: int | None = None,
    ) -> Written[CalendarEvent]:
        calendar_event = self.get_owned(user_id, event_id, CalendarEvent, expected_version)
        calendar_event.update(user_id, fields)
        return self.saved(calendar_event)

    @retried_on_conflict
    def delete_event(
        self, user_id: str, event_id: UUID, *, expected_version: int | None = None
    ) -> Written[CalendarEvent]:
        calendar_event = self.get_owned(user_id, event_id, CalendarEvent, expected_version)
        calendar_event.delete(user_id)
        person = self.get_owned(user_id, calendar_event.person_id, Person)
        person.detach_event(user_id, event_id)
        return self.saved(calendar_event, person)
