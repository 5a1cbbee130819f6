"""What a second import of a contact changes: sets what differs, never removes, and
compares lists as sets."""

from __future__ import annotations

from typing import Any

from pcem.contacts.changes import person_changes
from pcem.contacts.model import Contact

EMAILS = [{"value": "a@example.org", "label": "home"}, {"value": "b@example.org"}]


def person(**fields: Any) -> dict[str, Any]:
    current = {"first_name": "Ada", "last_name": "Lovelace", "primary_contact": "a@example.org"}
    return {**current, "metadata": {"emails": EMAILS, "note": "x"}, **fields}


def contact(**fields: Any) -> Contact:
    base: dict[str, Any] = {
        "record": "card 1",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "primary_contact": "a@example.org",
        "metadata": {"emails": EMAILS, "note": "x"},
    }
    return Contact(**{**base, **fields})


def test_the_same_contact_changes_nothing() -> None:
    assert not person_changes(person(), contact())


def test_the_same_list_in_another_order_is_unchanged() -> None:
    reordered = contact(metadata={"emails": list(reversed(EMAILS)), "note": "x"})

    assert not person_changes(person(), reordered)


def test_a_changed_field_and_key_are_set_and_nothing_else() -> None:
    changed = contact(last_name="King", metadata={"emails": EMAILS, "note": "y"})

    changes = person_changes(person(), changed)

    assert changes.fields == {"last_name": "King"}
    assert changes.metadata_patch == {"note": "y"}


def test_keys_the_file_does_not_give_are_left_alone() -> None:
    current = person(metadata={"emails": EMAILS, "note": "x", "favorite_book": "Dune"})

    assert not person_changes(current, contact(metadata={"emails": EMAILS}))


def test_a_list_with_one_more_item_is_set_whole() -> None:
    more = [*EMAILS, {"value": "c@example.org"}]

    changes = person_changes(person(), contact(metadata={"emails": more, "note": "x"}))

    assert changes.metadata_patch == {"emails": more}


def test_a_value_of_another_type_is_a_change() -> None:
    changes = person_changes(person(metadata={"n": 1}), contact(metadata={"n": True}))

    assert changes.metadata_patch == {"n": True}
