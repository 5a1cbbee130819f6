"""Relationship endpoints: directed links between two of the caller's people."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from pcem.aggregates.person import Person
from pcem.api.auth import Principal
from pcem.api.consistency import POSITION_HEADER, ReadYourWrites
from pcem.api.idempotency import Idempotency, StoredResult, request_fingerprint
from pcem.api.pagination import Cursor, Limit, Page, decode_time_cursor, encode_time_cursor
from pcem.api.people import READS, IdempotencyKeyHeader, MinPosition, remember
from pcem.api.people_schemas import AddRelationship, RelationshipOut
from pcem.commands.base import NotFoundError
from pcem.commands.people import PeopleApplication
from pcem.projections.people_view import PeopleView
from pcem.projections.relationships_view import RelationshipsView


def relationship_out(person: Person, relationship_id: UUID) -> RelationshipOut:
    """The relationship as recorded; ``person`` is its source right after adding it."""
    relationship = person.relationships[relationship_id]
    return RelationshipOut(
        id=relationship.id,
        source_id=person.id,
        target_id=relationship.target_id,
        type=relationship.type,
        created_at=person.modified_on,
    )


class RelationshipsController(Controller):
    path = "/api/v1/people/{person_id:uuid}/relationships"
    tags = ["relationships"]

    @post("/", operation_id="addRelationship", status_code=201, sync_to_thread=True)
    def add_relationship(
        self,
        request: Request[Any, Any, Any],
        person_id: FromPath[UUID],
        data: JSONBody[AddRelationship],
        principal: NamedDependency[Principal],
        people: NamedDependency[PeopleApplication],
        ryw: NamedDependency[ReadYourWrites],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[RelationshipOut]:
        """Record that this person relates to another (directed, e.g. ``child``).
        404 if the target is not one of yours; 400 for a self-link; 409 if it exists."""

        def execute(key: Any) -> Response[RelationshipOut]:
            written, relationship_id = people.add_relationship(
                principal.user_id,
                person_id,
                target_id=data.target_id,
                type=data.type,
                idempotency=key,
            )
            remember(ryw, principal, written)
            return Response(
                relationship_out(written.aggregate, relationship_id),
                status_code=201,
                headers={POSITION_HEADER: str(written.position)},
            )

        def replay(stored: StoredResult) -> Response[RelationshipOut]:
            source = people.at_version(
                principal.user_id, person_id, Person, stored.aggregate_version
            )
            return Response(relationship_out(source, stored.result_id), status_code=201)

        fingerprint = request_fingerprint("addRelationship", request.url.path, data)
        return idempotency.run(principal.user_id, idempotency_key, fingerprint, execute, replay)

    @get("/", operation_id="listRelationships", sync_to_thread=True)
    def list_relationships(
        self,
        person_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        people_view: NamedDependency[PeopleView],
        relationships_view: NamedDependency[RelationshipsView],
        ryw: NamedDependency[ReadYourWrites],
        direction: FromQuery[Literal["out", "in", "both"]] = "out",
        limit: Limit = 50,
        cursor: Cursor = None,
        min_position: MinPosition = None,
    ) -> Page[RelationshipOut]:
        """The person's relationships, oldest first: ``out`` (from them), ``in``, or ``both``."""
        ryw.wait(principal.user_id, min_position, READS)
        if people_view.get(principal.user_id, person_id) is None:
            raise NotFoundError("Person", person_id)
        after = decode_time_cursor(cursor) if cursor else None
        rows = relationships_view.page(
            principal.user_id, person_id, direction, after=after, limit=limit + 1
        )
        more = len(rows) > limit
        return Page(
            items=[RelationshipOut.from_row(r) for r in rows[:limit]],
            next_cursor=encode_time_cursor(*rows[limit - 1].sort_key) if more else None,
        )

    @delete("/{relationship_id:uuid}", operation_id="removeRelationship", sync_to_thread=True)
    def remove_relationship(
        self,
        person_id: FromPath[UUID],
        relationship_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        people: NamedDependency[PeopleApplication],
        ryw: NamedDependency[ReadYourWrites],
    ) -> Response[None]:
        """Remove a relationship through its source person."""
        written = people.remove_relationship(principal.user_id, person_id, relationship_id)
        remember(ryw, principal, written)
        return Response(None, status_code=204, headers={POSITION_HEADER: str(written.position)})
