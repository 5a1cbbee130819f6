from __future__ import annotations

import pytest

from pcem.aggregates.person import MAX_METADATA_BYTES, MetadataTooLargeError, Person


def test_created_person_holds_what_was_given() -> None:
    person = Person.create(
        user_id="alice",
        actor="alice",
        first_name="Ada",
        last_name="Lovelace",
        primary_contact="ada@example.org",
        metadata={"favorite_book": "Dune", "children": [{"school": "Hillside"}]},
    )

    assert (person.first_name, person.last_name) == ("Ada", "Lovelace")
    assert person.primary_contact == "ada@example.org"
    assert person.metadata["children"][0]["school"] == "Hillside"
    assert person.version == 1
    assert person.is_owned_by("alice") and not person.is_owned_by("bob")


def test_every_event_carries_owner_and_actor() -> None:
    person = Person.create(user_id="alice", actor="support-7", first_name="Ada")

    (created,) = person.collect_events()

    assert isinstance(created, Person.Created)
    assert created.user_id == "alice"
    assert created.actor == "support-7"


def test_person_defaults_to_empty_last_name_contact_and_metadata() -> None:
    person = Person.create(user_id="alice", actor="alice", first_name="Ada")

    assert (person.last_name, person.primary_contact, person.metadata) == ("", None, {})


def test_person_is_rebuilt_from_its_events() -> None:
    original = Person.create(user_id="alice", actor="alice", first_name="Ada", metadata={"k": 1})
    (created,) = original.collect_events()

    rebuilt = created.mutate(None)

    assert isinstance(rebuilt, Person)
    assert rebuilt.id == original.id
    assert rebuilt.metadata == {"k": 1}
    assert rebuilt.user_id == "alice"


def test_metadata_over_16_kib_is_refused() -> None:
    too_big = {"notes": "x" * MAX_METADATA_BYTES}

    with pytest.raises(MetadataTooLargeError, match="at most 16384"):
        Person.create(user_id="alice", actor="alice", first_name="Ada", metadata=too_big)


def test_metadata_of_exactly_16_kib_is_accepted() -> None:
    overhead = len('{"notes":""}')
    exactly = {"notes": "x" * (MAX_METADATA_BYTES - overhead)}

    person = Person.create(user_id="alice", actor="alice", first_name="Ada", metadata=exactly)

    assert person.metadata == exactly
