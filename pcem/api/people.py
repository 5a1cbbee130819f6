"""People endpoints: parse, call the application or the read model, map the result."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, Parameter

from pcem.api.auth import Principal
from pcem.api.consistency import MIN_POSITION_HEADER, POSITION_HEADER, ReadYourWrites
from pcem.api.json_input import reject_nul_characters
from pcem.api.pagination import Page, decode_cursor, encode_cursor
from pcem.api.people_schemas import CreatePerson, PersonOut
from pcem.api.problems import FieldError, InvalidInputError
from pcem.commands.base import NotFoundError
from pcem.commands.people import PeopleApplication
from pcem.projections.people_view import PeopleFilter, PeopleView

READS = ("people",)
_TEXT = r"^[^\x00]*$"

MinPosition = Annotated[str | None, HeaderParameter(name=MIN_POSITION_HEADER, required=False)]


def etag(version: int) -> str:
    return f'W/"{version}"'


class PeopleController(Controller):
    path = "/api/v1/people"
    tags = ["people"]

    @post("/", operation_id="createPerson", status_code=201, sync_to_thread=True)
    def create_person(
        self,
        data: JSONBody[CreatePerson],
        principal: NamedDependency[Principal],
        people: NamedDependency[PeopleApplication],
        ryw: NamedDependency[ReadYourWrites],
    ) -> Response[PersonOut]:
        """Create a person. Answers 201 with the person and a ``Location`` header."""
        reject_nul_characters("metadata", data.metadata)
        written = people.create_person(
            principal.user_id,
            first_name=data.first_name,
            last_name=data.last_name,
            primary_contact=data.primary_contact,
            metadata=data.metadata,
        )
        ryw.remember(principal.user_id, written.position)
        person = PersonOut.from_aggregate(written.aggregate)
        return Response(
            person,
            status_code=201,
            headers={
                "Location": f"{self.path}/{person.id}",
                "ETag": etag(person.version),
                POSITION_HEADER: str(written.position),
            },
        )

    @get("/{person_id:uuid}", operation_id="getPerson", sync_to_thread=True)
    def get_person(
        self,
        person_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        people_view: NamedDependency[PeopleView],
        ryw: NamedDependency[ReadYourWrites],
        min_position: MinPosition = None,
    ) -> Response[PersonOut]:
        """One of the caller's people; 404 if missing, deleted or someone else's."""
        ryw.wait(principal.user_id, min_position, READS)
        row = people_view.get(principal.user_id, person_id)
        if row is None:
            raise NotFoundError("Person", person_id)
        return Response(PersonOut.from_row(row), headers={"ETag": etag(row.version)})

    @get("/", operation_id="listPeople", sync_to_thread=True)
    def list_people(
        self,
        principal: NamedDependency[Principal],
        people_view: NamedDependency[PeopleView],
        ryw: NamedDependency[ReadYourWrites],
        q: Annotated[str | None, Parameter(max_length=200, pattern=_TEXT)] = None,
        has_key: Annotated[list[str] | None, Parameter(max_items=20)] = None,
        meta: Annotated[str | None, Parameter(max_length=4096)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=1024)] = None,
        min_position: MinPosition = None,
    ) -> Page[PersonOut]:
        """The caller's people ordered by ``last_name, first_name, id``, optionally searched."""
        ryw.wait(principal.user_id, min_position, READS)
        search = PeopleFilter(q=q or None, has_keys=_has_keys(has_key), meta=_meta(meta))
        after = _person_sort_key(cursor) if cursor else None
        rows = people_view.page(principal.user_id, search, after=after, limit=limit + 1)
        items = [PersonOut.from_row(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(
            items=items, next_cursor=encode_cursor(rows[limit - 1].sort_key) if more else None
        )


def _has_keys(values: list[str] | None) -> tuple[str, ...]:
    keys = tuple(values or ())
    if any(not k or len(k) > 200 or "\x00" in k for k in keys):
        raise InvalidInputError([FieldError("has_key", "each key must be 1..200 characters")])
    return keys


def _meta(value: str | None) -> dict[str, Any]:
    if value is None:
        return {}
    try:
        parsed = msgspec.json.decode(value)
    except msgspec.DecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidInputError(
            [FieldError("meta", 'must be a JSON object, e.g. {"school": "Hillside"}')]
        )
    reject_nul_characters("meta", parsed)
    return parsed


def _person_sort_key(cursor: str) -> tuple[str, str, str]:
    last_name, first_name, person_id = decode_cursor(cursor, length=3)
    try:
        UUID(person_id)
    except ValueError:
        raise InvalidInputError(
            [FieldError("cursor", "is not a cursor this API returned")]
        ) from None
    return last_name, first_name, person_id
