"""The Person aggregate: someone a user keeps, with free-form metadata and
directed relationships to the user's other people.

Rules: a deleted person cannot change except by restore; a purged one never again
(the tombstone ``Purged`` holds no personal data: docs/privacy.md); a relationship never
links a person to themself and is never recorded twice for the same target and
type; metadata stays within 16 KiB, 8 levels of nesting, 100 keys in any one object
and 1,000 keys and array items in all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from pcem.aggregates.merge_patch import merge_patch
from pcem.aggregates.ownership import (
    OwnedAggregate,
    OwnedEvent,
    Tombstone,
    check_updatable,
)

MAX_METADATA_BYTES = 16 * 1024
MAX_METADATA_DEPTH = 8  # objects and arrays inside each other; the metadata itself is 1
MAX_METADATA_KEYS = 100  # in any one object
MAX_METADATA_ENTRIES = 1000  # keys and array items, every level together
UPDATABLE_FIELDS = ("first_name", "last_name", "primary_contact")


@dataclass(frozen=True)
class Relationship:
    id: UUID
    target_id: UUID
    type: str


class Person(OwnedAggregate):
    class Created(OwnedEvent, Aggregate.Created):
        audit_type: ClassVar[str] = "PersonCreated"
        first_name: str
        last_name: str
        primary_contact: str | None
        metadata: dict[str, Any]

    class Updated(OwnedEvent):
        """``changes`` holds the new value of every field that changed."""

        audit_type: ClassVar[str] = "PersonUpdated"
        changes: dict[str, Any]

    class Deleted(OwnedEvent):
        audit_type: ClassVar[str] = "PersonDeleted"

    class Restored(OwnedEvent):
        audit_type: ClassVar[str] = "PersonRestored"

    class Purged(Tombstone):
        """Erased for good: every consumer drops what it derived from this person."""

        audit_type: ClassVar[str] = "PersonPurged"

    class RelationshipAdded(OwnedEvent):
        audit_type: ClassVar[str] = "RelationshipAdded"
        relationship_id: UUID
        target_id: UUID
        type: str

    class RelationshipRemoved(OwnedEvent):
        audit_type: ClassVar[str] = "RelationshipRemoved"
        relationship_id: UUID

    class EventAttached(OwnedEvent):
        """A date that matters was recorded about this person."""

        audit_type: ClassVar[str] = "EventAdded"
        event_id: UUID

    class EventDetached(OwnedEvent):
        audit_type: ClassVar[str] = "EventRemoved"
        event_id: UUID

    @event(Created)
    def __init__(
        self,
        *,
        user_id: str,
        actor: str,
        first_name: str,
        last_name: str,
        primary_contact: str | None,
        metadata: dict[str, Any],
    ) -> None:
        self.user_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.primary_contact = primary_contact
        self.metadata = metadata
        self.is_deleted = False
        self.relationships: dict[UUID, Relationship] = {}
        self.event_ids: set[UUID] = set()
        self.recorded_event_ids: set[UUID] = set()  # ever attached: deleted ones too

    @classmethod
    def create(
        cls,
        *,
        user_id: str,
        actor: str,
        first_name: str,
        last_name: str = "",
        primary_contact: str | None = None,
        metadata: dict[str, Any] | None = None,
        id: UUID | None = None,  # a chosen id (an import's, so a resumed one finds it)
    ) -> Person:
        metadata = metadata or {}
        check_metadata(metadata)
        return cls._create(
            cls.Created,
            id=id,
            user_id=user_id,
            actor=actor,
            first_name=first_name,
            last_name=last_name,
            primary_contact=primary_contact,
            metadata=metadata,
        )

    # Commands

    def update(
        self, actor: str, fields: dict[str, Any], metadata_patch: dict[str, Any] | None = None
    ) -> None:
        """Set the given fields and merge-patch the metadata; a no-op records nothing."""
        self.check_not_deleted()
        check_updatable(fields, UPDATABLE_FIELDS)
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if metadata_patch is not None:
            check_metadata_shape(metadata_patch)  # before merging walks it
            metadata = merge_patch(self.metadata, metadata_patch)
            check_metadata(metadata)
            if metadata != self.metadata:
                changes["metadata"] = metadata
        if changes:
            self._updated(user_id=self.user_id, actor=actor, changes=changes)

    def delete(self, actor: str) -> None:
        self.check_not_deleted()
        self._deleted(user_id=self.user_id, actor=actor)

    def restore(self, actor: str) -> None:
        """Undo a deletion; restoring someone who is not deleted changes nothing."""
        if self.is_deleted:
            self._restored(user_id=self.user_id, actor=actor)

    def purge(self, actor: str) -> None:
        """Erase the person for good (deleted or not): see ``Purged``."""
        self._purged(user_id=self.user_id, actor=actor)

    def add_relationship(
        self, actor: str, relationship_id: UUID, target: Person, type: str
    ) -> None:
        if target.id == self.id:
            raise SelfRelationshipError(self.id)
        self.check_not_deleted()
        target.check_not_deleted()
        self.check_relationship_is_new(target.id, type)
        self._relationship_added(
            user_id=self.user_id,
            actor=actor,
            relationship_id=relationship_id,
            target_id=target.id,
            type=type,
        )

    def remove_relationship(self, actor: str, relationship_id: UUID) -> None:
        self.check_not_deleted()
        if relationship_id not in self.relationships:
            raise RelationshipNotFoundError(relationship_id)
        self._relationship_removed(
            user_id=self.user_id, actor=actor, relationship_id=relationship_id
        )

    def attach_event(self, actor: str, event_id: UUID) -> None:
        self.check_not_deleted()
        self._event_attached(user_id=self.user_id, actor=actor, event_id=event_id)

    def detach_event(self, actor: str, event_id: UUID) -> None:
        if event_id in self.event_ids:
            self._event_detached(user_id=self.user_id, actor=actor, event_id=event_id)

    # Rules

    @property
    def is_visible(self) -> bool:
        return not (self.is_deleted or self.is_erased)

    def check_not_deleted(self) -> None:
        if self.is_deleted:
            raise PersonDeletedError(self.id)

    def check_relationship_is_new(self, target_id: UUID, type: str) -> None:
        if any(r.target_id == target_id and r.type == type for r in self.relationships.values()):
            raise DuplicateRelationshipError(self.id, target_id, type)

    # Events applied

    @event(Updated)
    def _updated(self, user_id: str, actor: str, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, value)

    @event(Deleted)
    def _deleted(self, user_id: str, actor: str) -> None:
        self.is_deleted = True

    @event(Restored)
    def _restored(self, user_id: str, actor: str) -> None:
        self.is_deleted = False

    @event(Purged)
    def _purged(self, user_id: str, actor: str) -> None:
        self.is_erased = True

    @event(RelationshipAdded)
    def _relationship_added(
        self, user_id: str, actor: str, relationship_id: UUID, target_id: UUID, type: str
    ) -> None:
        self.relationships[relationship_id] = Relationship(relationship_id, target_id, type)

    @event(RelationshipRemoved)
    def _relationship_removed(self, user_id: str, actor: str, relationship_id: UUID) -> None:
        del self.relationships[relationship_id]

    @event(EventAttached)
    def _event_attached(self, user_id: str, actor: str, event_id: UUID) -> None:
        self.event_ids.add(event_id)
        self.recorded_event_ids.add(event_id)

    @event(EventDetached)
    def _event_detached(self, user_id: str, actor: str, event_id: UUID) -> None:
        self.event_ids.discard(event_id)


def check_metadata(metadata: dict[str, Any]) -> None:
    check_metadata_shape(metadata)
    size = len(msgspec.json.encode(metadata))
    if size > MAX_METADATA_BYTES:
        raise MetadataTooLargeError(size)


def check_metadata_shape(metadata: dict[str, Any]) -> None:
    """Nesting and counts, walked without recursion: deep input must not exhaust the stack."""
    entries = 0
    pending: list[tuple[Any, int]] = [(metadata, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_METADATA_DEPTH:
            raise MetadataTooComplexError(f"nests deeper than {MAX_METADATA_DEPTH} levels")
        if isinstance(value, dict) and len(value) > MAX_METADATA_KEYS:
            raise MetadataTooComplexError(f"has an object of more than {MAX_METADATA_KEYS} keys")
        children = list(value.values()) if isinstance(value, dict) else value
        entries += len(children)
        if entries > MAX_METADATA_ENTRIES:
            raise MetadataTooComplexError(
                f"holds more than {MAX_METADATA_ENTRIES} keys and array items in all"
            )
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


class MetadataTooLargeError(ValueError):
    def __init__(self, size: int) -> None:
        super().__init__(
            f"metadata is {size} bytes encoded as JSON; at most {MAX_METADATA_BYTES} are allowed"
        )


class MetadataTooComplexError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"metadata {reason}")


class PersonDeletedError(Exception):
    def __init__(self, person_id: UUID) -> None:
        super().__init__(f"person {person_id} is deleted; restore them first")


class SelfRelationshipError(ValueError):
    def __init__(self, person_id: UUID) -> None:
        super().__init__(f"person {person_id} cannot be related to themself")


class DuplicateRelationshipError(Exception):
    def __init__(self, source_id: UUID, target_id: UUID, type: str) -> None:
        super().__init__(f"a {type!r} relationship from {source_id} to {target_id} already exists")


class RelationshipNotFoundError(LookupError):
    def __init__(self, relationship_id: UUID) -> None:
        super().__init__(f"relationship {relationship_id} not found")
