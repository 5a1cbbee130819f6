"""How an import finds a file's contacts again, and resolves relations among them."""

from __future__ import annotations

from uuid import UUID, uuid4

from pcem.contacts.model import Contact, Relation
from pcem.imports.matching import FileIndex, PersonIds, derived_person_id


def card(first: str, last: str = "", *, uid: str | None = None, **extra: object) -> Contact:
    return Contact(record="card", first_name=first, last_name=last, uid=uid, **extra)  # type: ignore[arg-type]


def test_the_same_contact_gets_the_same_id_and_another_user_another() -> None:
    ada = card("Ada", "Lovelace", uid="abc")

    assert derived_person_id("u1", ada) == derived_person_id("u1", card("Ada", uid="abc"))
    assert derived_person_id("u1", ada) != derived_person_id("u2", ada)


def test_without_a_uid_the_name_and_first_email_recognise_a_contact() -> None:
    emails = {"emails": [{"value": "ada@example.org"}]}
    one = card("Ada", "Lovelace", metadata=emails)

    assert derived_person_id("u", one) == derived_person_id(
        "u", card("Ada", "Lovelace", metadata=emails)
    )
    assert derived_person_id("u", one) != derived_person_id("u", card("Ada", "Lovelace"))


def test_a_uid_naming_one_of_the_users_people_is_that_person() -> None:
    theirs, someone_elses = uuid4(), uuid4()
    ids = PersonIds("u", lambda person_id: person_id == theirs)

    assert ids(card("Ada", uid=f"urn:uuid:{theirs}")) == theirs
    assert ids(card("Ada", uid=f"urn:uuid:{someone_elses}")) != someone_elses


def test_relations_resolve_by_uid_or_a_unique_name_and_the_rest_stay_in_metadata() -> None:
    wife = card("Jane", "Doe", uid="urn:uuid:" + str(UUID(int=1)))
    twins = [card("Sam", "Doe"), card("Sam", "Doe")]
    husband = card(
        "John",
        "Doe",
        relations=[
            Relation("spouse", uid=str(UUID(int=1))),
            Relation("child", name="Sam Doe"),  # two of them: not resolved
            Relation("friend", name="Nobody Here"),
        ],
    )
    index = FileIndex.of([wife, *twins, husband])

    assert index.target(husband.relations[0]) is wife
    assert index.target(husband.relations[1]) is None
    assert index.with_outside_relations(husband).metadata["related"] == [
        {"name": "Sam Doe", "label": "child"},
        {"name": "Nobody Here", "label": "friend"},
    ]
