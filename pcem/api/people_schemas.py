"""Request and response bodies of the People endpoints."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from pcem.aggregates.person import Person
from pcem.aggregates.text_rules import NO_NUL, VISIBLE_TEXT
from pcem.api.json_input import IS_METADATA
from pcem.projections.people_view import PersonRow
from pcem.projections.relationships_view import RelationshipRow

FirstName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=VISIBLE_TEXT.pattern)]
LastName = Annotated[str, msgspec.Meta(max_length=100, pattern=NO_NUL.pattern)]
PrimaryContact = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL.pattern)]
Metadata = Annotated[dict[str, Any], msgspec.Meta(extra_json_schema={"extra": IS_METADATA})]
# The patch is within Metadata's limits, but what it makes of the stored metadata may
# not be (101 keys after adding 60 to 41): a 400 no schema of the patch can foresee.
MetadataPatch = Annotated[
    dict[str, Any],
    msgspec.Meta(
        description="A JSON Merge Patch of the metadata (RFC 7396: null removes a key)."
        " The metadata it makes must keep the limits of Metadata, else a 400.",
        extra_json_schema={"extra": IS_METADATA},
    ),
]


class CreatePerson(msgspec.Struct, forbid_unknown_fields=True):
    first_name: FirstName
    last_name: LastName = ""
    primary_contact: PrimaryContact | None = None
    metadata: Metadata = msgspec.field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)


PersonOut = PersonRow  # the read model's row is the API's Person


def person_out(person: Person) -> PersonRow:
    """A person as just saved (or as they were), in the shape every read answers."""
    return PersonRow(
        id=person.id,
        first_name=person.first_name,
        last_name=person.last_name,
        primary_contact=person.primary_contact,
        metadata=person.metadata,
        version=person.version,
        created_at=person.created_on,
        updated_at=person.modified_on,
    )


class UpdatePerson(msgspec.Struct, forbid_unknown_fields=True):
    """A partial update: absent fields stay as they are; ``metadata`` is a JSON Merge Patch."""

    first_name: FirstName | UnsetType = UNSET
    last_name: LastName | UnsetType = UNSET
    primary_contact: PrimaryContact | UnsetType | None = UNSET
    metadata: MetadataPatch | UnsetType = UNSET

    def fields(self) -> dict[str, Any]:
        """The fields given, except ``metadata`` (a patch, not a value)."""
        given = msgspec.structs.asdict(self)
        return {k: v for k, v in given.items() if v is not UNSET and k != "metadata"}

    def metadata_patch(self) -> dict[str, Any] | None:
        return None if isinstance(self.metadata, UnsetType) else self.metadata


RelationshipType = Annotated[
    str, msgspec.Meta(min_length=1, max_length=50, pattern=VISIBLE_TEXT.pattern)
]


class AddRelationship(msgspec.Struct, forbid_unknown_fields=True):
    target_id: UUID
    type: RelationshipType


RelationshipOut = RelationshipRow  # the read model's row is the API's Relationship
