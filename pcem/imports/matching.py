"""How a file's contacts are found again: their people's ids, and relations resolved
within the file.

A contact's person has an id derived from the user, their account generation and the
contact's key (its UID, or its name and first email or phone), so a second import, or
a run resumed after a crash, finds the person the first one made instead of making
another. The generation (how many times the account was erased) changes after an
account erasure: the erased people's ids are never used again, and the same file
imported into the account that follows makes its people afresh. A UID that is
``urn:uuid:`` and one of the user's people (PCEM's own vCard export) names that person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from uuid import UUID, uuid5

from pcem.contacts.model import BadRecord, Contact, Relation

# Fixed for ever: the ids of people made by imports are derived in this namespace.
IMPORTED = UUID("6f1d2a8e-3b5c-5e0a-9c47-2d8b1e6f4a90")
MAX_TYPE_LENGTH = 50  # a relationship's type (API.md)

Record = Contact | BadRecord


def derived_person_id(user_id: str, contact: Contact, generation: int = 0) -> UUID:
    if generation == 0:  # as before erasure existed: the ids of earlier imports kept
        return uuid5(IMPORTED, f"{user_id}\x00{contact.key}")
    return uuid5(IMPORTED, f"{user_id}\x00{generation}\x00{contact.key}")


def date_event_id(person_id: UUID, kind: str) -> UUID:
    """The id of the yearly event a contact's date of ``kind`` becomes."""
    return uuid5(person_id, kind)


def own_uuid(uid: str | None) -> UUID | None:
    """The person id in a UID PCEM exported (``urn:uuid:<id>``), if it is one."""
    if not uid:
        return None
    try:
        return UUID(uid.removeprefix("urn:uuid:"))
    except ValueError:
        return None


@dataclass
class FileIndex:
    """The contacts of one file, by UID and by name, to resolve relations among them."""

    by_uid: dict[str, Contact] = field(default_factory=dict)
    by_name: dict[str, list[Contact]] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[Record]) -> FileIndex:
        index = cls()
        for record in records:
            if isinstance(record, Contact):
                if record.uid:
                    index.by_uid.setdefault(record.uid, record)
                index.by_name.setdefault(record.full_name.casefold(), []).append(record)
        return index

    def target(self, relation: Relation) -> Contact | None:
        """The contact of this file a relation names, if exactly one."""
        if not 1 <= len(relation.type) <= MAX_TYPE_LENGTH:
            return None
        if relation.uid is not None:
            return self.by_uid.get(relation.uid) or self.by_uid.get(f"urn:uuid:{relation.uid}")
        named = self.by_name.get((relation.name or "").casefold(), [])
        return named[0] if len(named) == 1 else None

    def with_outside_relations(self, contact: Contact) -> Contact:
        """``contact`` with the relations to nobody of this file kept in its metadata
        (``related``), since no relationship can hold them."""
        outside = [r for r in contact.relations if self.target(r) is None]
        if not outside:
            return contact
        related = list(contact.metadata.get("related") or [])
        related += [_related_item(relation) for relation in outside]
        return replace(contact, metadata={**contact.metadata, "related": related})


def _related_item(relation: Relation) -> dict[str, str]:
    item = {"name": relation.name} if relation.name else {"uid": relation.uid or ""}
    return {**item, "label": relation.type} if relation.type else item


class PersonIds:
    """Each contact's person id, derived once; ``is_theirs`` says whether an id is one
    of the user's people (asked for UIDs of PCEM's own export)."""

    def __init__(
        self, user_id: str, is_theirs: Callable[[UUID], bool], generation: int = 0
    ) -> None:
        self.user_id = user_id
        self.is_theirs = is_theirs
        self.generation = generation
        self._known: dict[str, UUID] = {}

    def __call__(self, contact: Contact) -> UUID:
        if (found := self._known.get(contact.key)) is None:
            own = own_uuid(contact.uid)
            found = (
                own
                if own and self.is_theirs(own)
                else derived_person_id(self.user_id, contact, self.generation)
            )
            self._known[contact.key] = found
        return found
