"""What every PCEM aggregate event carries: whose data it is and who acted."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from eventsourcing.domain import Aggregate

SYSTEM_ACTOR = "system"


class OwnedEvent(Aggregate.Event):
    """An event on a user's aggregate: ``user_id`` owns it, ``actor`` caused it."""

    user_id: str
    actor: str


class OwnedAggregate(Aggregate):
    """An aggregate that belongs to exactly one user for its whole life."""

    user_id: str
    # Set by a tombstone (a purge, an account erasure): no read answers it again, its
    # history included, and nothing may change it.
    is_erased: bool = False

    def is_owned_by(self, user_id: str) -> bool:
        return self.user_id == user_id

    @property
    def is_visible(self) -> bool:
        """Whether reads answer it (a deleted one is a 404 except in its history)."""
        return True


class Tombstone(OwnedEvent):
    """An erasure's mark on an aggregate: who, when, whose, and nothing else. Stored in
    clear (the event store's mapper seals every other event with the subject's key), so
    every consumer still reads it once the key is destroyed."""

    stored_in_clear: ClassVar[bool] = True


def check_updatable(fields: Iterable[str], updatable: tuple[str, ...]) -> None:
    """Only an aggregate's own updatable fields may change through ``update``."""
    refused = sorted(set(fields) - set(updatable))
    if refused:
        raise FieldNotUpdatableError(refused, updatable)


class FieldNotUpdatableError(ValueError):
    def __init__(self, refused: list[str], updatable: tuple[str, ...]) -> None:
        super().__init__(
            f"{', '.join(refused)} cannot be changed; changeable: {', '.join(updatable)}"
        )
        self.fields = refused


class NotFoundError(LookupError):
    """No such record for this user: another user's record is not found either (404),
    so the write side and every read raise this one error."""

    def __init__(self, kind: str, record_id: object) -> None:
        super().__init__(f"{kind} {record_id} not found")
        self.kind = kind
