"""The worker's part of an import: the file's contacts made into people, in batches.

Each contact is found again (``matching``) and created, changed or left alone by the
ordinary use cases, with history and the user as actor: a batch's new people (the
common case: a first import) in one transaction, the others one by one. After each
batch the counts are written; they are where a resumed run starts. A run killed inside a batch does
that batch again: ids derived from the contacts make nothing twice, and the first
save of each contact carries an idempotency record naming its outcome, so the counts
stay those of the first run. Relations among the file's contacts become relationships
once every contact has its person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.ownership import NotFoundError
from pcem.aggregates.person import (
    DuplicateRelationshipError,
    Person,
    PersonDeletedError,
    check_metadata,
)
from pcem.commands.calendar import CalendarApplication
from pcem.commands.idempotency import IdempotencyKey, current_key
from pcem.commands.people import NewPerson, PeopleApplication
from pcem.contacts.changes import person_changes
from pcem.contacts.csv_in import read_csv
from pcem.contacts.model import DATE_TITLES, BadRecord, Contact, ContactDate, DateKind
from pcem.contacts.vcard_in import read_vcards
from pcem.eventstore.recorder import IdempotencyKeyTakenError
from pcem.imports.jobs import ImportJobs, Job, Progress, outcome_key
from pcem.imports.matching import FileIndex, PersonIds, Record, date_event_id

log = structlog.get_logger(__name__)

BATCH_SIZE = 50  # contacts a batch: their new people in one transaction, then the counts
READERS = {"vcard": read_vcards, "csv": read_csv}
DELETED_IN_PCEM = "deleted in PCEM: restore the person to import this contact again"
PURGED_IN_PCEM = "purged from PCEM: an erased person is not imported again from this file"


class Skip(Exception):
    """A contact left as it is, for the reason given."""


class ImportRun:
    def __init__(
        self,
        jobs: ImportJobs,
        people: PeopleApplication,
        calendar: CalendarApplication,
        generation_of: Callable[[str], int],
    ) -> None:
        self.jobs = jobs
        self.people = people
        self.calendar = calendar
        self.generation_of = generation_of  # the user's account (pcem.erasure.requests)

    def run(self, import_id: UUID) -> str:
        """Run (or resume) the import; what became of it, for the log."""
        with self.jobs.held(import_id) as held:
            if not held:
                return "running elsewhere"
            job = self.jobs.load(import_id)
            if job is None or job.status in ("done", "failed") or job.content is None:
                return "nothing to do"
            try:
                records = list(READERS[job.format](job.content))
            except (UnicodeError, ValueError) as error:
                self.jobs.fail(import_id, "file", f"the file cannot be read: {error}")
                return "failed"
            self.jobs.start(import_id, total=len(records))
            Contacts(self, job, records).sync()
            self.jobs.finish(import_id, job.user_id)
            return "done"


class Contacts:
    """One run over one file."""

    def __init__(self, run: ImportRun, job: Job, records: list[Record]) -> None:
        self.run = run
        self.job = job
        self.records = records
        self.index = FileIndex.of(records)
        self.person_id = PersonIds(job.user_id, self._is_theirs, run.generation_of(job.user_id))
        self.recorded = {} if job.dry_run else run.jobs.recorded_outcomes(job.id, job.user_id)

    @property
    def user_id(self) -> str:
        return self.job.user_id

    def sync(self) -> None:
        remaining = list(enumerate(self.records, start=1))[self.job.processed :]
        for start in range(0, len(remaining), BATCH_SIZE):
            progress = Progress()
            self._sync_batch(remaining[start : start + BATCH_SIZE], progress)
            self.run.jobs.record(self.job.id, progress)
        if not self.job.dry_run:
            progress = Progress()
            self._relate(progress)
            self.run.jobs.record(self.job.id, progress)

    def _sync_batch(self, batch: list[tuple[int, Record]], progress: Progress) -> None:
        """The batch's new people in one transaction, the others one by one. A batch
        that cannot be saved whole (a contact's data refused, an id taken meanwhile)
        goes one by one, each contact on its own."""
        created = self._new_people(batch)
        if created and not self.job.dry_run:
            try:
                self.run.people.create_people(self.user_id, list(created.values()))
            except (IntegrityError, IdempotencyKeyTakenError, ValueError):
                created = {}
        for number, record in batch:
            if number in created and isinstance(record, Contact):
                for problem in record.problems:
                    progress.problem(record.record, problem)
                progress.count("created")
            else:
                self._sync_record(number, record, progress)

    def _new_people(self, batch: list[tuple[int, Record]]) -> dict[int, NewPerson]:
        """The batch's contacts whose person does not exist yet (one query), each once."""
        contacts = {n: r for n, r in batch if isinstance(r, Contact) and n not in self.recorded}
        ids = {number: self.person_id(contact) for number, contact in contacts.items()}
        existing = self.run.people.existing(list(ids.values()))
        new: dict[int, NewPerson] = {}
        for number, contact in contacts.items():
            person_id = ids[number]
            if person_id in existing or not _acceptable(contact):
                continue
            existing.add(person_id)  # the same contact twice in a batch: once
            key = IdempotencyKey(self.user_id, outcome_key(self.job.id, number), "created")
            new[number] = NewPerson(
                _person_fields(person_id, self.index.with_outside_relations(contact)),
                [_date_fields(person_id, d) for d in _one_of_each_kind(contact.dates)],
                key,
            )
        return new

    def _sync_record(self, number: int, record: Record, progress: Progress) -> None:
        if isinstance(record, BadRecord):
            progress.problem(record.record, record.message)
            progress.count("skipped")
            return
        for problem in record.problems:
            progress.problem(record.record, problem)
        try:
            outcome = self._sync_contact(number, record)
        except (Skip, PersonDeletedError, ValueError) as error:
            progress.problem(record.record, str(error))
            outcome = "skipped"
        progress.count(self.recorded.get(number, outcome))

    def _sync_contact(self, number: int, contact: Contact) -> str:
        person_id = self.person_id(contact)
        person = self._person(person_id)
        contact = self.index.with_outside_relations(contact)
        if person is not None and person.is_deleted:
            raise Skip(DELETED_IN_PCEM)
        if person is None and self.run.people.existing([person_id]):
            raise Skip(PURGED_IN_PCEM)  # its id is taken by a tombstone
        changes = person_changes(vars(person), contact) if person else None
        dates = self._date_changes(person_id, person, contact.dates)
        outcome = "created" if person is None else "updated" if changes or dates else "unchanged"
        if self.job.dry_run or outcome == "unchanged":
            return outcome
        with self._first_save_keyed(number, outcome) as keyed:
            if person is None:
                with keyed():
                    self.run.people.create_person(
                        self.user_id, **_person_fields(person_id, contact)
                    )
            elif changes:
                with keyed():
                    self.run.people.update_person(
                        self.user_id, person_id, changes.fields, changes.metadata_patch or None
                    )
            for kind, event, day in dates:
                with keyed():
                    self._save_date(person_id, kind, event, day)
        return outcome

    def _person(self, person_id: UUID) -> Person | None:
        try:
            return self.run.people.get_owned(self.user_id, person_id, Person)
        except NotFoundError:
            return None

    def _is_theirs(self, person_id: UUID) -> bool:
        return self._person(person_id) is not None

    def _date_changes(
        self, person_id: UUID, person: Person | None, dates: list[ContactDate]
    ) -> list[tuple[DateKind, CalendarEvent | None, date]]:
        """Each date to save: its kind, the event it changes (None: a new one), the day."""
        events = self._events(person) if person else []
        changes: list[tuple[DateKind, CalendarEvent | None, date]] = []
        for contact_date in _one_of_each_kind(dates):
            event = _event_for(events, date_event_id(person_id, contact_date.kind), contact_date)
            if event is None or event.event_date != contact_date.day.isoformat():
                changes.append((contact_date.kind, event, contact_date.day))
        return changes

    def _events(self, person: Person) -> list[CalendarEvent]:
        found = []
        for event_id in person.event_ids:
            try:
                found.append(self.run.calendar.get_owned(self.user_id, event_id, CalendarEvent))
            except NotFoundError:
                continue
        return found

    def _save_date(
        self, person_id: UUID, kind: DateKind, event: CalendarEvent | None, day: date
    ) -> None:
        if event is not None:
            self.run.calendar.update_event(self.user_id, event.id, {"event_date": day})
        else:
            fields = _date_fields(person_id, ContactDate(kind, day))
            self.run.calendar.create_event(self.user_id, person_id, **fields)

    @contextmanager
    def _first_save_keyed(self, number: int, outcome: str) -> Iterator[Any]:
        """A context for each save of one contact: the first carries the contact's
        outcome record (none when an earlier run already recorded it)."""
        key: list[IdempotencyKey | None] = [
            None
            if number in self.recorded
            else IdempotencyKey(self.user_id, outcome_key(self.job.id, number), outcome)
        ]

        @contextmanager
        def keyed() -> Iterator[None]:
            token = current_key.set(key[0])
            try:
                yield
            finally:
                current_key.reset(token)
                key[0] = None

        yield keyed

    def _relate(self, progress: Progress) -> None:
        """Relations among the file's contacts as relationships, each made once."""
        for record in self.records:
            if not isinstance(record, Contact):
                continue
            for relation in record.relations:
                target = self.index.target(relation)
                if target is None:
                    continue
                source_id, target_id = self.person_id(record), self.person_id(target)
                if source_id == target_id:
                    continue
                try:
                    self.run.people.add_relationship(
                        self.user_id, source_id, target_id=target_id, type=relation.type
                    )
                except DuplicateRelationshipError:
                    continue
                except (NotFoundError, PersonDeletedError, ValueError) as error:
                    progress.problem(record.record, f"{relation.type} of {target.record}: {error}")


def _person_fields(person_id: UUID, contact: Contact) -> dict[str, Any]:
    return {
        "id": person_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "primary_contact": contact.primary_contact,
        "metadata": contact.metadata,
    }


def _date_fields(person_id: UUID, contact_date: ContactDate) -> dict[str, Any]:
    """The special yearly all-day event a contact's date becomes."""
    return {
        "id": date_event_id(person_id, contact_date.kind),
        "title": DATE_TITLES[contact_date.kind],
        "event_date": contact_date.day,
        "is_special_event": True,
        "recurrence": "yearly",
    }


def _one_of_each_kind(dates: list[ContactDate]) -> list[ContactDate]:
    return list({contact_date.kind: contact_date for contact_date in dates}.values())


def _acceptable(contact: Contact) -> bool:
    """Whether the person's metadata is within PCEM's limits (else the contact is
    skipped, one by one, with the reason)."""
    try:
        check_metadata(contact.metadata)
    except ValueError:
        return False
    return True


def _event_for(
    events: list[CalendarEvent], event_id: UUID, contact_date: ContactDate
) -> CalendarEvent | None:
    """The person's event for this kind of date: the one an import made, else a live
    special yearly all-day event with its title (one the user made, or an export's)."""
    title = DATE_TITLES[contact_date.kind]
    for event in events:
        if event.id == event_id:
            return event
    for event in events:
        if (
            event.title == title
            and event.recurrence == "yearly"
            and event.all_day
            and not event.is_deleted
        ):
            return event
    return None
