from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from pcem.aggregates.person import (
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_METADATA_KEYS,
    DuplicateRelationshipError,
    MetadataTooComplexError,
    MetadataTooLargeError,
    Person,
    PersonDeletedError,
    RelationshipNotFoundError,
    SelfRelationshipError,
)


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


def person(**metadata: object) -> Person:
    return Person.create(user_id="alice", actor="alice", first_name="Ada", metadata=dict(metadata))


def test_update_sets_fields_and_merges_metadata() -> None:
    ada = person(book="Dune", school={"name": "Hillside", "year": 3})

    ada.update("alice", {"last_name": "Lovelace"}, {"book": None, "school": {"year": 4}})

    assert ada.last_name == "Lovelace"
    assert ada.metadata == {"school": {"name": "Hillside", "year": 4}}
    assert ada.version == 2


def test_update_that_changes_nothing_records_nothing() -> None:
    ada = person(book="Dune")
    ada.collect_events()

    ada.update("alice", {"first_name": "Ada"}, {"book": "Dune", "absent": None})

    assert ada.collect_events() == []


def test_update_records_only_what_changed() -> None:
    ada = person()
    ada.collect_events()

    ada.update("support-1", {"first_name": "Ada", "last_name": "King"}, None)

    (updated,) = ada.collect_events()
    assert isinstance(updated, Person.Updated)
    assert updated.changes == {"last_name": "King"}
    assert updated.actor == "support-1"


def test_deleted_person_cannot_be_renamed_or_related() -> None:
    ada, bob = person(), person()
    ada.delete("alice")

    with pytest.raises(PersonDeletedError):
        ada.update("alice", {"first_name": "X"})
    with pytest.raises(PersonDeletedError):
        ada.add_relationship("alice", uuid4(), bob, "friend")
    with pytest.raises(PersonDeletedError):
        bob.add_relationship("alice", uuid4(), ada, "friend")
    with pytest.raises(PersonDeletedError):
        ada.delete("alice")


def test_restore_undoes_delete_and_is_harmless_when_not_deleted() -> None:
    ada = person()
    ada.restore("alice")
    assert ada.version == 1

    ada.delete("alice")
    ada.restore("alice")

    assert not ada.is_deleted
    assert ada.version == 3


def test_person_cannot_be_related_to_themself() -> None:
    ada = person()

    with pytest.raises(SelfRelationshipError):
        ada.add_relationship("alice", uuid4(), ada, "self")


def test_same_target_and_type_cannot_be_related_twice_but_another_type_can() -> None:
    ada, bob = person(), person()
    ada.add_relationship("alice", uuid4(), bob, "colleague")

    with pytest.raises(DuplicateRelationshipError):
        ada.add_relationship("alice", uuid4(), bob, "colleague")
    ada.add_relationship("alice", uuid4(), bob, "friend")

    assert sorted(r.type for r in ada.relationships.values()) == ["colleague", "friend"]


def test_removing_an_unknown_relationship_is_refused() -> None:
    with pytest.raises(RelationshipNotFoundError):
        person().remove_relationship("alice", uuid4())


def test_merged_metadata_over_16_kib_is_refused() -> None:
    ada = person(a="x" * 9000)

    with pytest.raises(MetadataTooLargeError):
        ada.update("alice", {}, {"b": "y" * 9000})


def nested(levels: int) -> dict[str, Any]:
    """Metadata ``levels`` deep: itself, then objects and arrays in turn."""
    value: Any = "leaf"
    for level in range(levels - 1):
        value = {"k": value} if level % 2 else [value]
    return {"k": value}


def test_metadata_eight_levels_deep_is_accepted() -> None:
    ada = person(**nested(MAX_METADATA_DEPTH))

    assert ada.metadata == nested(MAX_METADATA_DEPTH)


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        (nested(MAX_METADATA_DEPTH + 1), "nests deeper than 8 levels"),
        ({f"k{n}": n for n in range(MAX_METADATA_KEYS + 1)}, "more than 100 keys"),
        ({"list": [{"a": 1}] * 30, "more": list(range(975))}, "more than 1000 keys and array"),
    ],
    ids=["too deep", "too many keys", "too many entries"],
)
def test_metadata_past_its_shape_limits_is_refused(metadata: dict[str, Any], reason: str) -> None:
    with pytest.raises(MetadataTooComplexError, match=reason):
        Person.create(user_id="alice", actor="alice", first_name="Ada", metadata=metadata)


def test_a_patch_past_the_nesting_limit_is_refused_before_merging() -> None:
    ada = person()

    with pytest.raises(MetadataTooComplexError, match="deeper"):
        ada.update("alice", {}, nested(900))  # a merge would walk it recursively
