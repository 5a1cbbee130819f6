"""Use cases that change people and their relationships: load, call the domain, save."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID, uuid4

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.ownership import NotFoundError
from pcem.aggregates.person import Person
from pcem.commands.base import PcemApplication, Written, retried_on_conflict
from pcem.commands.idempotency import IdempotencyKey
from pcem.eventstore.recorder import PcemApplicationRecorder


@dataclass(frozen=True)
class NewPerson:
    """A person to create with their dates: ``fields`` as ``Person.create`` takes them,
    each of ``dates`` as ``CalendarEvent.create`` does (ids included); ``key``: the
    idempotency record to write with them, if any."""

    fields: dict[str, Any]
    dates: list[dict[str, Any]]
    key: IdempotencyKey | None = None


class PeopleApplication(PcemApplication):
    def create_person(self, user_id: str, **fields: Any) -> Written[Person]:
        """``fields``: the person's own (``Person.create`` names and checks them)."""
        return self.saved(Person.create(user_id=user_id, actor=user_id, **fields))

    def create_people(self, user_id: str, people: Sequence[NewPerson]) -> int:
        """Many people, each with their dates, in one transaction: all or none (an
        import's batch; one that meets an id already taken fails whole). The position
        of the last event."""
        aggregates: list[Person | CalendarEvent] = []
        records = []
        for new in people:
            person = Person.create(user_id=user_id, actor=user_id, **new.fields)
            dates = [CalendarEvent.create(actor=user_id, person=person, **d) for d in new.dates]
            for calendar_event in dates:
                person.attach_event(user_id, calendar_event.id)
            aggregates += [person, *dates]
            if new.key is not None:
                records.append(new.key.record(person.id, person.version, person.id))
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        return self._commits.write(events, records)

    def existing(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``ids`` name an aggregate in the store (anyone's: a caller that
        needs the owner loads it)."""
        return cast(PcemApplicationRecorder, self.recorder).existing(ids)

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

    @retried_on_conflict
    def purge_person(self, user_id: str, person_id: UUID, *, actor: str) -> Written[Person]:
        """Tombstones for the person (deleted or not) and every calendar entry ever
        recorded about them, deleted ones included, in one transaction. The caller
        then destroys their keys (``pcem.erasure.purge``)."""
        return self._purged([self.get_owned(user_id, person_id, Person)], actor)

    @retried_on_conflict
    def purge_people(
        self, user_id: str, person_ids: Sequence[UUID], *, actor: str
    ) -> tuple[int, list[Person]]:
        """``purge_person`` for many (an account erasure's batch), in one transaction;
        those already erased are skipped. The position written (0: nothing), and the
        people purged as they were loaded."""
        people = []
        for person_id in person_ids:
            try:
                people.append(self.get_owned(user_id, person_id, Person))
            except NotFoundError:  # purged by an earlier, interrupted batch
                continue
        return (self._purged(people, actor).position if people else 0), people

    def _purged(self, people: list[Person], actor: str) -> Written[Person]:
        entries: list[CalendarEvent] = []
        for person in people:
            person.purge(actor)
            for event_id in person.recorded_event_ids:
                try:
                    entry = self.get_owned(person.user_id, event_id, CalendarEvent)
                except NotFoundError:
                    continue
                entry.purge_with_person(actor)
                entries.append(entry)
        return self.saved(people[0], *people[1:], *entries)

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
