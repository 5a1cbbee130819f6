"""The Person aggregate: someone a user keeps, with free-form metadata."""

from __future__ import annotations

from typing import Any

import msgspec
from eventsourcing.domain import Aggregate, event

from pcem.aggregates.ownership import OwnedAggregate, OwnedEvent

MAX_METADATA_BYTES = 16 * 1024


class Person(OwnedAggregate):
    class Created(OwnedEvent, Aggregate.Created):
        first_name: str
        last_name: str
        primary_contact: str | None
        metadata: dict[str, Any]

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
    ) -> Person:
        metadata = metadata or {}
        check_metadata_size(metadata)
        return cls(
            user_id=user_id,
            actor=actor,
            first_name=first_name,
            last_name=last_name,
            primary_contact=primary_contact,
            metadata=metadata,
        )


def check_metadata_size(metadata: dict[str, Any]) -> None:
    size = len(msgspec.json.encode(metadata))
    if size > MAX_METADATA_BYTES:
        raise MetadataTooLargeError(size)


class MetadataTooLargeError(ValueError):
    def __init__(self, size: int) -> None:
        super().__init__(
            f"metadata is {size} bytes encoded as JSON; at most {MAX_METADATA_BYTES} are allowed"
        )
