"""Events are sealed with their subject's key: what the store holds, what reads get back,
and what a destroyed key, a moved state or an old clear event reads as."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

import pytest
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, MapperDeserialisationError
from sqlalchemy import text

from pcem.aggregates.erased import ErasedEvent
from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.ownership import OwnedEvent
from pcem.aggregates.person import Person
from pcem.commands.calendar import CalendarApplication
from pcem.commands.people import NewPerson, PeopleApplication
from pcem.eventstore.config import eventsourcing_env
from pcem.eventstore.keyring import PROCESS_KEYS
from pcem.eventstore.keys import SubjectKeys
from pcem.eventstore.sealing import SEPARATOR, SubjectErasedError
from pcem.settings import Settings
from tests.integration.projection_helpers import Database

CLEAR_MAPPER = {"MAPPER_TOPIC": "eventsourcing.persistence:Mapper"}


@dataclass
class Store:
    db: Database
    people: PeopleApplication
    calendar: CalendarApplication
    keys: SubjectKeys

    def states(self, subject_id: UUID) -> list[bytes]:
        return states_of(self.db, subject_id)

    def key_row(self, subject_id: UUID) -> Any:
        with self.db.engine.connect() as conn:
            return conn.execute(
                text("SELECT * FROM subject_keys WHERE subject_id = :id"), {"id": subject_id}
            ).one_or_none()


def states_of(db: Database, subject_id: UUID) -> list[bytes]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT state FROM pcem_events WHERE originator_id = :id"
                " ORDER BY originator_version"
            ),
            {"id": subject_id},
        )
        return [bytes(state) for (state,) in rows]


@pytest.fixture
def store(isolated: Settings) -> Iterator[Store]:
    db = Database(isolated)
    env = eventsourcing_env(isolated.require_database(), isolated.require_master_key())
    calendar = CalendarApplication(env=env)
    yield Store(db, db.app, calendar, SubjectKeys(db.engine))
    calendar.close()
    db.close()


def ada(user_id: str = "u1", person_id: UUID | None = None) -> Person:
    return Person.create(
        user_id=user_id,
        actor=user_id,
        first_name="Adalinda",
        metadata={"phone": "+44 7700 900123"},
        id=person_id,
    )


def test_a_stored_event_is_a_clear_header_and_a_sealed_body_that_reads_back(store: Store) -> None:
    # given
    person = ada()
    person.update("u1", {"last_name": "Lovelacewright"})

    # when
    store.people.save(person)

    # then
    for state in store.states(person.id):
        header, separator, _ = state.partition(SEPARATOR)
        assert separator and b'"user_id":"u1"' in header and b'"actor":"u1"' in header
        for secret in (b"Adalinda", b"Lovelacewright", b"7700 900123"):
            assert secret not in state
    again: Person = store.people.repository.get(person.id)
    assert (again.first_name, again.last_name) == ("Adalinda", "Lovelacewright")
    assert again.metadata == {"phone": "+44 7700 900123"}


def test_each_subject_gets_a_key_row_naming_its_person(store: Store) -> None:
    # given
    person = ada()
    store.people.save(person)

    # when
    entry = CalendarEvent.create(actor="u1", person=person, title="Birthday", event_date=_day())
    store.calendar.save(entry)

    # then
    own, of_entry = store.key_row(person.id), store.key_row(entry.id)
    assert (own.user_id, own.person_id) == ("u1", person.id)
    assert (of_entry.user_id, of_entry.person_id) == ("u1", person.id)
    assert own.wrapped_key != of_entry.wrapped_key and own.destroyed_at is None


def test_many_people_created_in_one_transaction_each_get_their_key(store: Store) -> None:
    # when
    store.people.create_people(
        "u1",
        [
            NewPerson({"first_name": f"Imported {n}"}, [{"title": "Day", "event_date": _day()}])
            for n in range(20)
        ],
    )

    # then
    with store.db.engine.connect() as conn:
        keyless = conn.execute(
            text(
                "SELECT count(*) FROM pcem_events e WHERE NOT EXISTS"
                " (SELECT FROM subject_keys k WHERE k.subject_id = e.originator_id)"
            )
        ).scalar()
        people_keys = conn.execute(
            text("SELECT count(DISTINCT person_id) FROM subject_keys WHERE user_id = 'u1'")
        ).scalar()
    assert keyless == 0 and people_keys == 20


def test_of_two_creators_of_one_aggregate_only_the_winner_has_a_key_row(store: Store) -> None:
    # given
    first = ada()
    second = ada(person_id=first.id)  # the same aggregate created twice (a retried import)
    store.people.save(first)
    winner = store.key_row(first.id)

    # when
    with pytest.raises(IntegrityError):
        store.people.save(second)

    # then
    assert store.key_row(first.id) == winner
    assert store.people.repository.get(first.id).first_name == "Adalinda"


def test_a_destroyed_key_reads_as_erased_events_and_a_missing_aggregate(store: Store) -> None:
    # given
    person = ada()
    person.update("u1", {"last_name": "Lovelacewright"})
    store.people.save(person)

    # when
    assert store.keys.destroy_person("u1", person.id) == 1

    # then
    with pytest.raises(AggregateNotFoundError):
        store.people.repository.get(person.id)
    history = store.people.history_for_support(person.id)
    assert [type(e) for e in history] == [ErasedEvent, ErasedEvent]
    assert [(e.user_id, e.actor, e.audit_type) for e in history if isinstance(e, ErasedEvent)] == [
        ("u1", "u1", "PersonCreated"),
        ("u1", "u1", "PersonUpdated"),
    ]
    assert store.key_row(person.id).wrapped_key is None


def test_a_key_destroyed_by_another_process_stops_opening_once_the_cache_forgets_it(
    store: Store,
) -> None:
    # given: this process has the key cached
    person = ada()
    store.people.save(person)
    store.people.repository.get(person.id)
    store.db.execute(
        "UPDATE subject_keys SET wrapped_key = NULL, destroyed_at = now() WHERE subject_id = :id",
        id=person.id,
    )  # as another process's erasure does

    # when: its entry expires (KEY_TTL_SECONDS later; forgotten here to keep the test quick)
    PROCESS_KEYS.forget([person.id])

    # then
    with pytest.raises(AggregateNotFoundError):
        store.people.repository.get(person.id)


def test_a_write_to_an_erased_subject_is_not_found_and_writes_nothing(store: Store) -> None:
    # given
    person = ada()
    store.people.save(person)
    stale: Person = store.people.repository.get(person.id)  # loaded before the erasure
    store.keys.destroy_person("u1", person.id)

    # when
    stale.update("u1", {"last_name": "After"})
    with pytest.raises(SubjectErasedError):
        store.people.save(stale)

    # then
    assert len(store.states(person.id)) == 1


def test_a_sealed_state_moved_to_another_row_is_an_integrity_error_not_erased(
    store: Store,
) -> None:
    # given
    victim, target = ada(), ada()
    store.people.save(victim)
    store.people.save(target)

    # when
    store.db.execute(
        "UPDATE pcem_events SET state = (SELECT state FROM pcem_events"
        " WHERE originator_id = :victim AND originator_version = 1)"
        " WHERE originator_id = :target AND originator_version = 1",
        victim=victim.id,
        target=target.id,
    )

    # then
    with pytest.raises(MapperDeserialisationError, match="does not open"):
        store.people.repository.get(target.id)


def test_an_event_stored_in_clear_before_encryption_still_reads(isolated: Settings) -> None:
    # given: a person written by a PCEM without encryption
    env = eventsourcing_env(isolated.require_database(), isolated.require_master_key())
    old = PeopleApplication(env={**env, **CLEAR_MAPPER})
    person = ada()
    old.save(person)
    old.close()
    db = Database(isolated)

    # when
    person_again: Person = db.app.repository.get(person.id)
    person_again.update("u1", {"last_name": "Later"})
    db.app.save(person_again)  # a subject without a key stays clear until `events encrypt`

    # then
    assert db.app.repository.get(person.id).last_name == "Later"
    states = states_of(db, person.id)
    assert all(SEPARATOR not in state and b"Adalinda" in states[0] for state in states)
    db.close()


class Tombstoned(OwnedEvent):
    """A stand-in for erasure's tombstones: no personal data, so stored in clear."""

    stored_in_clear: ClassVar[bool] = True


def test_event_classes_marked_stored_in_clear_are_stored_as_plain_json(store: Store) -> None:
    # given
    event = Tombstoned(  # type: ignore[call-arg]  # (OwnedEvent's fields are annotations)
        originator_id=uuid.uuid4(),
        originator_version=2,
        timestamp=Tombstoned.create_timestamp(),
        user_id="u1",
        actor="u1",
    )

    # when
    stored = store.people.mapper.to_stored_event(event)

    # then
    assert SEPARATOR not in stored.state and stored.state.startswith(b"{")
    assert vars(store.people.mapper.to_domain_event(stored)) == vars(event)


def _day() -> date:
    return date(1990, 12, 10)
