"""Relationship endpoints: directed links between two of the caller's people."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from pcem.aggregates.ownership import NotFoundError
from pcem.aggregates.person import Person
from pcem.api.conventions import Caller, Paging, command, query
from pcem.api.pagination import Page, decode_time_cursor, encode_time_cursor
from pcem.api.people_schemas import AddRelationship, RelationshipOut
from pcem.api.versions import POSITION_HEADER, no_content
from pcem.commands.idempotency import StoredResult
from pcem.projections.catalog import PEOPLE_AND_DATES


def relationship_out(person: Person, relationship_id: FromPath[UUID]) -> RelationshipOut:
    """The relationship as recorded; ``person`` is its source right after adding it."""
    relationship = person.relationships[relationship_id]
    return RelationshipOut(
        id=relationship.id,
        source_id=person.id,
        target_id=relationship.target_id,
        type=relationship.type,
        created_at=person.modified_on,
    )


def _replay_added(caller: Caller, stored: StoredResult) -> Response[RelationshipOut]:
    source = caller.services.people.at_version(
        caller.user_id, stored.aggregate_id, Person, stored.aggregate_version
    )
    return Response(relationship_out(source, stored.result_id), status_code=201)


class RelationshipsController(Controller):
    path = "/api/v1/people/{person_id:uuid}/relationships"
    tags = ["relationships"]

    @post(
        "/",
        operation_id="addRelationship",
        status_code=201,
        sync_to_thread=True,
        **command(replay=_replay_added),
    )
    def add_relationship(
        self,
        person_id: FromPath[UUID],
        data: JSONBody[AddRelationship],
        caller: NamedDependency[Caller],
    ) -> Response[RelationshipOut]:
        """Record that this person relates to another (directed, e.g. ``child``).
        404 if the target is not one of yours; 400 for a self-link; 409 if it exists."""
        written, relationship_id = caller.services.people.add_relationship(
            caller.user_id, person_id, target_id=data.target_id, type=data.type
        )
        return Response(
            relationship_out(written.aggregate, relationship_id),
            status_code=201,
            headers={POSITION_HEADER: str(written.position)},
        )

    @get("/", operation_id="listRelationships", **query(PEOPLE_AND_DATES))
    async def list_relationships(
        self,
        person_id: FromPath[UUID],
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        direction: FromQuery[Literal["out", "in", "both"]] = "out",
    ) -> Page[RelationshipOut]:
        """The person's relationships, oldest first: ``out`` (from them), ``in``, or ``both``."""
        if await caller.serving.people_view.get(caller.user_id, person_id) is None:
            raise NotFoundError("Person", person_id)
        after = decode_time_cursor(paging.cursor) if paging.cursor else None
        rows = await caller.serving.relationships_view.page(
            caller.user_id, person_id, direction, after=after, limit=paging.fetch
        )
        return paging.page(rows, lambda row: encode_time_cursor(*row.sort_key))

    @delete(
        "/{relationship_id:uuid}",
        operation_id="removeRelationship",
        sync_to_thread=True,
        **command(),
    )
    def remove_relationship(
        self,
        person_id: FromPath[UUID],
        relationship_id: FromPath[UUID],
        caller: NamedDependency[Caller],
    ) -> Response[None]:
        """Remove a relationship through its source person."""
        written = caller.services.people.remove_relationship(
            caller.user_id, person_id, relationship_id
        )
        return no_content(written)
