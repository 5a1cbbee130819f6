"""Use cases that change people and their relationships."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.ownership import OwnedAggregate
from pcem.aggregates.person import Person
from pcem.commands.base import IdempotencyKey, PcemApplication, Written, check_version


class PeopleApplication(PcemApplication):
    def create_person(
        self,
        user_id: str,
        *,
        first_name: str,
        last_name: str,
        primary_contact: str | None,
        metadata: dict[str, Any],
        idempotency: IdempotencyKey | None = None,
    ) -> Written[Person]:
        person = Person.create(
            user_id=user_id,
            actor=user_id,
            first_name=first_name,
            last_name=last_name,
            primary_contact=primary_contact,
            metadata=metadata,
        )
        record = idempotency.record(person, person.id) if idempotency else None
        return self.save_owned(person, record)

    def update_person(
        self,
        user_id: str,
        person_id: UUID,
        *,
        fields: dict[str, Any],
        metadata_patch: dict[str, Any] | None,
        expected_version: int | None = None,
    ) -> Written[Person]:
        return self.change(
            user_id,
            person_id,
            Person,
            lambda person: person.update(user_id, fields, metadata_patch),
            expected_version=expected_version,
        )

    def delete_person(
        self, user_id: str, person_id: UUID, *, expected_version: int | None = None
    ) -> Written[Person]:
        """Delete the person and hide their events: all of it in one transaction, or none."""

        def unit() -> tuple[Person, list[OwnedAggregate]]:
            person = self.get_owned(user_id, person_id, Person)
            check_version(person, expected_version)
            person.delete(user_id)
            events = self._events_of(person)
            for calendar_event in events:
                calendar_event.hide_with_person(user_id)
            return person, [person, *events]

        return self.transact(unit, conditional=expected_version is not None)

    def restore_person(
        self, user_id: str, person_id: UUID, *, idempotency: IdempotencyKey | None = None
    ) -> Written[Person]:
        """Bring the person back, and their events with them, in one transaction."""

        def unit() -> tuple[Person, list[OwnedAggregate]]:
            person = self.get_owned(user_id, person_id, Person)
            person.restore(user_id)
            events = self._events_of(person)
            for calendar_event in events:
                calendar_event.show_with_person(user_id)
            return person, [person, *events]

        return self.transact(unit, idempotency=idempotency)

    def _events_of(self, person: Person) -> list[CalendarEvent]:
        return [
            self.get_owned(person.user_id, event_id, CalendarEvent) for event_id in person.event_ids
        ]

    def add_relationship(
        self,
        user_id: str,
        source_id: UUID,
        *,
        target_id: UUID,
        type: str,
        idempotency: IdempotencyKey | None = None,
    ) -> tuple[Written[Person], UUID]:
        """The source as saved, and the new relationship's id."""
        target = self.get_owned(user_id, target_id, Person)
        relationship_id = uuid4()
        written = self.change(
            user_id,
            source_id,
            Person,
            lambda source: source.add_relationship(user_id, relationship_id, target, type),
            idempotency=idempotency,
            result_id=relationship_id,
        )
        return written, relationship_id

    def remove_relationship(
        self, user_id: str, source_id: UUID, relationship_id: UUID
    ) -> Written[Person]:
        return self.change(
            user_id, source_id, Person, lambda p: p.remove_relationship(user_id, relationship_id)
        )
