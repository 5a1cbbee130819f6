"""The people use cases (PeopleApplication) on the in-memory event store: what a user
sees change when they create, edit, delete and restore people and relate them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import eventsourcing.domain
import pytest

from pcem.aggregates.event import CalendarEvent, EventGoneError
from pcem.aggregates.ownership import FieldNotUpdatableError, NotFoundError
from pcem.aggregates.person import (
    DuplicateRelationshipError,
    MetadataTooLargeError,
    Person,
    PersonDeletedError,
    RelationshipNotFoundError,
    SelfRelationshipError,
)
from pcem.commands.base import VersionMismatchError
from pcem.commands.people import PeopleApplication
from tests.unit.in_memory import InMemoryPcem, in_memory_pcem


@pytest.fixture
def pcem() -> InMemoryPcem:
    return in_memory_pcem()


@pytest.fixture
def people(pcem: InMemoryPcem) -> PeopleApplication:
    return pcem.people


def new_person(people: PeopleApplication, user: str = "alice", **fields: Any) -> UUID:
    return people.create_person(user, **({"first_name": "Ada"} | fields)).aggregate.id


def stored(people: PeopleApplication, person_id: UUID, user: str = "alice") -> Person:
    """The person as the event store has them (reloaded, not the saved object)."""
    return people.get_owned(user, person_id, Person)


def test_a_created_person_is_stored_as_given(people: PeopleApplication) -> None:
    # when
    written = people.create_person(
        "alice",
        first_name="Ada",
        last_name="Lovelace",
        primary_contact="ada@example.org",
        metadata={"favorite_book": "Dune", "children": [{"school": "Hillside"}]},
    )

    # then
    person = stored(people, written.aggregate.id)
    assert (person.first_name, person.last_name) == ("Ada", "Lovelace")
    assert person.primary_contact == "ada@example.org"
    assert person.metadata == {"favorite_book": "Dune", "children": [{"school": "Hillside"}]}
    assert person.version == 1
    assert written.position > 0


def test_metadata_shaped_like_the_stores_own_markers_comes_back_unchanged(
    people: PeopleApplication,
) -> None:
    # given metadata that looks like the JSON transcoder's type markers
    metadata = {"_type_": "uuid_hex", "_data_": "not a uuid", "nested": {"_type_": 1, "_data_": []}}

    # when
    person_id = new_person(people, metadata=metadata)

    # then
    assert stored(people, person_id).metadata == metadata


def test_a_renamed_person_keeps_the_new_name_at_the_next_version(people: PeopleApplication) -> None:
    # given
    person_id = new_person(people, last_name="Byron")

    # when
    written = people.update_person("alice", person_id, {"last_name": "Lovelace"})

    # then
    person = stored(people, person_id)
    assert (person.first_name, person.last_name) == ("Ada", "Lovelace")
    assert person.version == written.aggregate.version == 2


def test_the_primary_contact_can_be_cleared(people: PeopleApplication) -> None:
    # given
    person_id = new_person(people, primary_contact="ada@example.org")

    # when
    people.update_person("alice", person_id, {"primary_contact": None})

    # then
    assert stored(people, person_id).primary_contact is None


def test_a_metadata_patch_merges_into_what_is_there(people: PeopleApplication) -> None:
    # given
    person_id = new_person(
        people, metadata={"book": "Dune", "pets": {"cat": "Tom", "dog": "Rex"}, "age": 36}
    )

    # when: add a key, replace one, remove one (null) and merge a nested object
    people.update_person(
        "alice",
        person_id,
        {},
        {"city": "London", "age": 37, "book": None, "pets": {"dog": None, "fish": "Wanda"}},
    )

    # then
    assert stored(people, person_id).metadata == {
        "pets": {"cat": "Tom", "fish": "Wanda"},
        "age": 37,
        "city": "London",
    }


def test_an_update_that_changes_nothing_keeps_the_version(people: PeopleApplication) -> None:
    # given
    person_id = new_person(people, last_name="Lovelace", metadata={"book": "Dune"})

    # when
    written = people.update_person(
        "alice", person_id, {"first_name": "Ada"}, {"book": "Dune", "absent": None}
    )

    # then
    assert written.position == 0  # nothing was written
    assert stored(people, person_id).version == 1
    assert len(people.history("alice", person_id, Person)) == 1


def test_only_names_and_primary_contact_can_be_changed(people: PeopleApplication) -> None:
    # given
    person_id = new_person(people)

    # when / then
    with pytest.raises(FieldNotUpdatableError) as refused:
        people.update_person("alice", person_id, {"first_name": "Augusta", "user_id": "mallory"})
    assert refused.value.fields == ["user_id"]
    person = stored(people, person_id)
    assert (person.first_name, person.user_id, person.version) == ("Ada", "alice", 1)


def test_a_metadata_patch_past_16_kib_is_refused_and_nothing_changes(
    people: PeopleApplication,
) -> None:
    # given
    person_id = new_person(people, metadata={"notes": "x" * 10_000})

    # when / then
    with pytest.raises(MetadataTooLargeError):
        people.update_person("alice", person_id, {}, {"more_notes": "y" * 10_000})
    person = stored(people, person_id)
    assert person.metadata == {"notes": "x" * 10_000}
    assert person.version == 1


def test_deleted_person_cannot_be_renamed(people: PeopleApplication) -> None:
    # given
    person_id = new_person(people)
    people.delete_person("alice", person_id)

    # when / then
    with pytest.raises(PersonDeletedError):
        people.update_person("alice", person_id, {"first_name": "Augusta"})
    assert stored(people, person_id).first_name == "Ada"


def test_a_deleted_person_is_gone_until_restored_with_everything_they_had(
    people: PeopleApplication,
) -> None:
    # given
    friend_id = new_person(people, first_name="Charles")
    person_id = new_person(people, metadata={"book": "Dune"})
    people.add_relationship("alice", person_id, target_id=friend_id, type="friend")

    # when
    people.delete_person("alice", person_id)

    # then
    assert not stored(people, person_id).is_visible
    with pytest.raises(PersonDeletedError):
        people.delete_person("alice", person_id)

    # when
    people.restore_person("alice", person_id)

    # then
    person = stored(people, person_id)
    assert person.is_visible
    assert person.metadata == {"book": "Dune"}
    assert [r.target_id for r in person.relationships.values()] == [friend_id]


def test_restoring_someone_not_deleted_changes_nothing(people: PeopleApplication) -> None:
    # given
    person_id = new_person(people)

    # when
    written = people.restore_person("alice", person_id)

    # then
    assert written.position == 0
    assert stored(people, person_id).version == 1


def test_deleting_a_person_hides_their_events_and_restoring_shows_them(
    pcem: InMemoryPcem,
) -> None:
    # given
    person_id = new_person(pcem.people)
    birthday = pcem.calendar.create_event(
        "alice", person_id, title="Birthday", event_date=date(1815, 12, 10), recurrence="yearly"
    ).aggregate.id

    # when
    pcem.people.delete_person("alice", person_id)

    # then: the event is hidden with its person, and cannot be edited meanwhile
    assert not pcem.calendar.get_owned("alice", birthday, CalendarEvent).is_visible
    with pytest.raises(EventGoneError):
        pcem.calendar.update_event("alice", birthday, {"title": "Hidden?"})

    # when
    pcem.people.restore_person("alice", person_id)

    # then
    shown = pcem.calendar.get_owned("alice", birthday, CalendarEvent)
    assert shown.is_visible
    assert (shown.title, shown.recurrence) == ("Birthday", "yearly")


def test_an_event_deleted_before_its_person_stays_deleted_after_restore(
    pcem: InMemoryPcem,
) -> None:
    # given
    person_id = new_person(pcem.people)
    kept, removed = (
        pcem.calendar.create_event(
            "alice", person_id, title=title, event_date=date(2020, 1, 1)
        ).aggregate.id
        for title in ("Kept", "Removed")
    )
    pcem.calendar.delete_event("alice", removed)

    # when
    pcem.people.delete_person("alice", person_id)
    pcem.people.restore_person("alice", person_id)

    # then
    assert pcem.calendar.get_owned("alice", kept, CalendarEvent).is_visible
    assert not pcem.calendar.get_owned("alice", removed, CalendarEvent).is_visible


def test_an_update_at_a_stale_version_is_refused_naming_the_current_one(
    people: PeopleApplication,
) -> None:
    # given: version 2
    person_id = new_person(people)
    people.update_person("alice", person_id, {"last_name": "Lovelace"})

    # when / then: a client that read version 1 (If-Match: "1")
    with pytest.raises(VersionMismatchError) as mismatch:
        people.update_person("alice", person_id, {"last_name": "Byron"}, expected_version=1)
    assert mismatch.value.current_version == 2
    assert stored(people, person_id).last_name == "Lovelace"


def test_an_update_at_the_current_version_is_applied(people: PeopleApplication) -> None:
    # given
    person_id = new_person(people)

    # when
    people.update_person("alice", person_id, {"last_name": "Lovelace"}, expected_version=1)

    # then
    assert stored(people, person_id).last_name == "Lovelace"


def test_a_delete_at_a_stale_version_is_refused_and_the_person_stays(
    people: PeopleApplication,
) -> None:
    # given
    person_id = new_person(people)
    people.update_person("alice", person_id, {"last_name": "Lovelace"})

    # when / then
    with pytest.raises(VersionMismatchError):
        people.delete_person("alice", person_id, expected_version=1)
    assert stored(people, person_id).is_visible


def renamed_by_another_process_after_our_first_read(
    pcem: InMemoryPcem, monkeypatch: pytest.MonkeyPatch, person_id: UUID
) -> None:
    """Between the use case's first read of the person and its write, another
    process (an application on the same store) renames them to Augusta."""
    other_process = pcem.another(PeopleApplication)
    load = pcem.people.repository.get
    reads = 0

    def read_then_let_the_other_write(aggregate_id: UUID, **kwargs: Any) -> Any:
        nonlocal reads
        aggregate = load(aggregate_id, **kwargs)
        reads += 1
        if reads == 1:
            other_process.update_person("alice", person_id, {"first_name": "Augusta"})
        return aggregate

    monkeypatch.setattr(pcem.people.repository, "get", read_then_let_the_other_write)


def test_a_concurrent_change_is_kept_when_another_lands_first(
    pcem: InMemoryPcem, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given another process renames the person between our read and our write
    person_id = new_person(pcem.people)
    renamed_by_another_process_after_our_first_read(pcem, monkeypatch, person_id)

    # when
    pcem.people.update_person("alice", person_id, {"last_name": "King"})

    # then: both changes are there, neither lost
    person = stored(pcem.people, person_id)
    assert (person.first_name, person.last_name) == ("Augusta", "King")
    assert person.version == 3


def test_a_concurrent_change_makes_an_if_match_update_a_mismatch(
    pcem: InMemoryPcem, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given another process renames the person between our read and our write
    person_id = new_person(pcem.people)
    renamed_by_another_process_after_our_first_read(pcem, monkeypatch, person_id)

    # when / then: ours named version 1, which is no longer current
    with pytest.raises(VersionMismatchError) as mismatch:
        pcem.people.update_person("alice", person_id, {"last_name": "King"}, expected_version=1)
    assert mismatch.value.current_version == 2
    person = stored(pcem.people, person_id)
    assert (person.first_name, person.last_name) == ("Augusta", "")


def test_another_users_person_is_not_found_and_stays_as_it_was(people: PeopleApplication) -> None:
    # given
    person_id = new_person(people, user="alice")

    # when / then
    with pytest.raises(NotFoundError):
        people.update_person("bob", person_id, {"first_name": "Mallory"})
    with pytest.raises(NotFoundError):
        people.delete_person("bob", person_id)
    with pytest.raises(NotFoundError):
        people.restore_person("bob", person_id)
    with pytest.raises(NotFoundError):
        people.history("bob", person_id, Person)
    person = stored(people, person_id, user="alice")
    assert (person.first_name, person.version, person.is_visible) == ("Ada", 1, True)


def test_an_unknown_person_is_not_found(people: PeopleApplication) -> None:
    with pytest.raises(NotFoundError):
        people.update_person("alice", uuid4(), {"first_name": "Nobody"})


def test_a_person_cannot_be_related_to_themself(people: PeopleApplication) -> None:
    # given
    person_id = new_person(people)

    # when / then
    with pytest.raises(SelfRelationshipError):
        people.add_relationship("alice", person_id, target_id=person_id, type="friend")
    assert stored(people, person_id).relationships == {}


def test_the_same_relationship_cannot_be_added_twice_but_another_type_can(
    people: PeopleApplication,
) -> None:
    # given
    ada, charles = new_person(people), new_person(people, first_name="Charles")
    people.add_relationship("alice", ada, target_id=charles, type="friend")

    # when / then
    with pytest.raises(DuplicateRelationshipError):
        people.add_relationship("alice", ada, target_id=charles, type="friend")
    _, colleague = people.add_relationship("alice", ada, target_id=charles, type="colleague")

    relationships = stored(people, ada).relationships
    assert sorted(r.type for r in relationships.values()) == ["colleague", "friend"]
    assert relationships[colleague].target_id == charles


def test_a_relationship_is_recorded_on_its_source_only(people: PeopleApplication) -> None:
    # given
    ada, charles = new_person(people), new_person(people, first_name="Charles")

    # when
    written, relationship_id = people.add_relationship(
        "alice", ada, target_id=charles, type="mentor"
    )

    # then
    assert written.aggregate.version == 2
    assert stored(people, ada).relationships[relationship_id].target_id == charles
    assert stored(people, charles).relationships == {}


def test_a_relationship_to_another_users_person_is_not_found(people: PeopleApplication) -> None:
    # given
    ada = new_person(people, user="alice")
    bobs = new_person(people, user="bob", first_name="Eve")

    # when / then
    with pytest.raises(NotFoundError):
        people.add_relationship("alice", ada, target_id=bobs, type="friend")
    assert stored(people, ada).relationships == {}


def test_a_relationship_to_a_deleted_person_is_refused(people: PeopleApplication) -> None:
    # given
    ada, charles = new_person(people), new_person(people, first_name="Charles")
    people.delete_person("alice", charles)

    # when / then
    with pytest.raises(PersonDeletedError):
        people.add_relationship("alice", ada, target_id=charles, type="friend")


def test_a_removed_relationship_is_gone_and_cannot_be_removed_again(
    people: PeopleApplication,
) -> None:
    # given
    ada, charles = new_person(people), new_person(people, first_name="Charles")
    _, relationship_id = people.add_relationship("alice", ada, target_id=charles, type="friend")

    # when
    people.remove_relationship("alice", ada, relationship_id)

    # then
    assert stored(people, ada).relationships == {}
    with pytest.raises(RelationshipNotFoundError):
        people.remove_relationship("alice", ada, relationship_id)


def test_history_lists_every_change_oldest_first_with_its_actor(people: PeopleApplication) -> None:
    # given
    person_id = new_person(people)
    people.update_person("alice", person_id, {"last_name": "Lovelace"})
    people.delete_person("alice", person_id)
    people.restore_person("alice", person_id)

    # when
    history = people.history("alice", person_id, Person)

    # then
    assert [type(e).__name__ for e in history] == ["Created", "Updated", "Deleted", "Restored"]
    assert {(e.user_id, e.actor) for e in history} == {("alice", "alice")}
    assert history[1].changes == {"last_name": "Lovelace"}  # type: ignore[union-attr]
    assert [type(e).__name__ for e in people.history("alice", person_id, Person, after=2)] == [
        "Deleted",
        "Restored",
    ]


def test_a_person_at_an_earlier_version_is_as_they_were_then(people: PeopleApplication) -> None:
    # given
    person_id = new_person(people, last_name="Byron")
    people.update_person("alice", person_id, {"last_name": "King"})

    # when
    then, now = (people.at_version("alice", person_id, Person, v) for v in (1, 2))

    # then
    assert (then.last_name, now.last_name) == ("Byron", "King")
    with pytest.raises(NotFoundError):
        people.at_version("alice", person_id, Person, 3)


def test_a_person_as_of_a_moment_is_as_they_were_then(
    people: PeopleApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a person created, renamed a day later, and deleted a day after that
    created = datetime(2024, 3, 1, 12, tzinfo=UTC)
    stamps_events_at(monkeypatch, created)
    person_id = new_person(people, last_name="Byron")
    stamps_events_at(monkeypatch, created + timedelta(days=1))
    people.update_person("alice", person_id, {"last_name": "King"})
    stamps_events_at(monkeypatch, created + timedelta(days=2))
    people.delete_person("alice", person_id)

    # when / then
    assert people.as_of("alice", person_id, Person, created).last_name == "Byron"
    renamed = created + timedelta(days=1, hours=1)
    assert people.as_of("alice", person_id, Person, renamed).last_name == "King"
    with pytest.raises(NotFoundError):  # not there yet
        people.as_of("alice", person_id, Person, created - timedelta(seconds=1))
    with pytest.raises(NotFoundError):  # deleted by then
        people.as_of("alice", person_id, Person, created + timedelta(days=3))


def stamps_events_at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """New events are stamped ``moment``. Only eventsourcing's clock for new events is
    set: freezegun would stop every clock of the process, the event loop's too, which
    an integration test's app may be running in another thread of this worker."""
    monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", lambda: moment)
