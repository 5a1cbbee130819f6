"""Use cases that change people and their relationships: load, call the domain, save."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.person import Person
from pcem.commands.base import PcemApplication, Written, retried_on_conflict


class PeopleApplication(PcemApplication):
    def create_person(self, user_id: str, **fields: Any) -> Written[Person]:
        """``fields``: the person's own (``Person.create`` names and checks them)."""
        return self.saved(Person.create(user_id=user_id, actor=user_id, **fields))

    @retried_on_conflict
    def update_person(
        self,
        user_id: str,
        person_id: UUID,
        fields: dict[str, Any],
        metadata_patch: dict[str, Any] | None = None,
        *,
        expected_version: int | None = None,
    ) -> Written[Person]:
        person = self.get_owned(user_id, person_id, Person, expected_version)
        person.update(user_id, fields, metadata_patch)
        return self.saved(person)

    @retried_on_conflict
    def delete_person(
        self, user_id: str, person_id: UUID, *, expected_version: int | None = None
    ) -> Written[Person]:
        """Delete the person and hide their events: all of it in one transaction, or none."""
        person = self.get_owned(user_id, person_id, Person, expected_version)
        person.delete(user_id)
        events = self._events_of(person)
        for calendar_event in events:
            calendar_event.hide_with_person(user_id)
        return self.saved(person, *events)

    @retried_on_conflict
    def restore_person(self, user_id: str, person_id: UUID) -> Written[Person]:
        """Bring the person back, and their events with them, in one transaction."""
        person = self.get_owned(user_id, person_id, Person)
        person.restore(user_id)
        events = self._events_of(person)
        for calendar_event in events:
            calendar_event.show_with_person(user_id)
        return self.saved(person, *events)

    def _events_of(self, person: Person) -> list[CalendarEvent]:
        return [
            self.get_owned(person.user_id, event_id, CalendarEvent) for event_id in person.event_ids
        ]

    @retried_on_conflict
    def add_relationship(
        self, user_id: str, source_id: UUID, *, target_id: UUID, type: str
    ) -> tuple[Written[Person], UUID]:
        """The source as saved, and the new relationship's id."""
        target = self.get_owned(user_id, target_id, Person)
        source = self.get_owned(user_id, source_id, Person)
        relationship_id = uuid4()
        source.add_relationship(user_id, relationship_id, target, type)
        return self.saved(source, result_id=relationship_id), relationship_id

    @retried_on_conflict
    def remove_relationship(
        self, user_id: str, source_id: UUID, relationship_id: UUID
    ) -> Written[Person]:
        source = self.get_owned(user_id, source_id, Person)
        source.remove_relationship(user_id, relationship_id)
        return self.saved(source)
