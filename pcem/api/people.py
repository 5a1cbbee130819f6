"""People endpoints: parse, call the application or the read model, map the result."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from pcem.aggregates.person import Person
from pcem.api.audit import History, history_of
from pcem.api.auth import Principal
from pcem.api.consistency import MIN_POSITION_HEADER, POSITION_HEADER, ReadYourWrites
from pcem.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from pcem.api.idempotency import Idempotency, StoredResult, request_fingerprint
from pcem.api.json_input import reject_nul_characters
from pcem.api.pagination import Cursor, Limit, Page, decode_cursor, encode_cursor
from pcem.api.people_schemas import CreatePerson, PersonOut, UpdatePerson
from pcem.api.problems import FieldError, InvalidInputError
from pcem.api.versions import etag, expected_version, versioned_response
from pcem.commands.base import NotFoundError, Written
from pcem.commands.people import PeopleApplication
from pcem.projections.people_view import PeopleFilter, PeopleView

READS = ("people",)
_TEXT = r"^[^\x00]*$"

MinPosition = Annotated[str | None, HeaderParameter(name=MIN_POSITION_HEADER, required=False)]
IfMatch = Annotated[str | None, HeaderParameter(name="If-Match", required=False)]
IdempotencyKeyHeader = Annotated[
    str | None, HeaderParameter(name=IDEMPOTENCY_HEADER, required=False)
]
AsOf = Annotated[str | None, QueryParameter(name="as_of", required=False)]


def person_response(
    person: Person, *, status: int = 200, written: Written[Person] | None = None
) -> Response[PersonOut]:
    body = PersonOut.from_aggregate(person)
    location = f"{PeopleController.path}/{body.id}" if status == 201 else None
    position = written.position if written else 0
    return versioned_response(
        body, body.version, status=status, position=position, location=location
    )


def remember(ryw: ReadYourWrites, principal: Principal, written: Written[Any]) -> None:
    if written.position:
        ryw.remember(principal.user_id, written.position)


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
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[PersonOut]:
        """Create a person. 201 with the person and a ``Location`` header."""
        reject_nul_characters("metadata", data.metadata)

        def execute(key: Any) -> Response[PersonOut]:
            written = people.create_person(
                principal.user_id,
                first_name=data.first_name,
                last_name=data.last_name,
                primary_contact=data.primary_contact,
                metadata=data.metadata,
                idempotency=key,
            )
            remember(ryw, principal, written)
            return person_response(written.aggregate, status=201, written=written)

        def replay(stored: StoredResult) -> Response[PersonOut]:
            person = people.at_version(
                principal.user_id, stored.aggregate_id, Person, stored.aggregate_version
            )
            return person_response(person, status=201)

        fingerprint = request_fingerprint("createPerson", self.path, data)
        return idempotency.run(principal.user_id, idempotency_key, fingerprint, execute, replay)

    @get("/{person_id:uuid}", operation_id="getPerson", sync_to_thread=True)
    def get_person(
        self,
        person_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        people: NamedDependency[PeopleApplication],
        people_view: NamedDependency[PeopleView],
        ryw: NamedDependency[ReadYourWrites],
        as_of: AsOf = None,
        min_position: MinPosition = None,
    ) -> Response[PersonOut]:
        """One of the caller's people; 404 if missing, deleted or someone else's.
        With ``as_of``, the person as they were at that moment (from the event store)."""
        if as_of is not None:
            moment = instant("as_of", as_of)
            return person_response(people.as_of(principal.user_id, person_id, Person, moment))
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
        q: Annotated[str | None, QueryParameter(max_length=200, pattern=_TEXT)] = None,
        has_key: Annotated[list[str] | None, QueryParameter(max_items=20)] = None,
        meta: Annotated[str | None, QueryParameter(max_length=4096)] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
        min_position: MinPosition = None,
    ) -> Page[PersonOut]:
        """The caller's people ordered by ``last_name, first_name, id``, optionally searched."""
        ryw.wait(principal.user_id, min_position, READS)
        search = PeopleFilter(q=q or None, has_keys=_has_keys(has_key), meta=_meta(meta))
        after = _person_sort_key(cursor) if cursor else None
        rows = people_view.page(principal.user_id, search, after=after, limit=limit + 1)
        items = [PersonOut.from_row(r) for r in rows[:limit]]
        more = len(rows) > limit
        next_cursor = encode_cursor(rows[limit - 1].sort_key) if more else None
        return Page(items=items, next_cursor=next_cursor)

    @patch("/{person_id:uuid}", operation_id="updatePerson", sync_to_thread=True)
    def update_person(
        self,
        person_id: FromPath[UUID],
        data: JSONBody[UpdatePerson],
        principal: NamedDependency[Principal],
        people: NamedDependency[PeopleApplication],
        ryw: NamedDependency[ReadYourWrites],
        if_match: IfMatch = None,
    ) -> Response[PersonOut]:
        """Change names, contact or metadata (a JSON Merge Patch: ``null`` removes a key).
        ``If-Match`` makes it conditional (412 on mismatch); without it, concurrent
        updates are applied one after another and none is lost."""
        patch_doc = data.metadata_patch()
        if patch_doc is not None:
            reject_nul_characters("metadata", patch_doc)
        written = people.update_person(
            principal.user_id,
            person_id,
            fields=data.fields(),
            metadata_patch=patch_doc,
            expected_version=expected_version(if_match),
        )
        remember(ryw, principal, written)
        return person_response(written.aggregate, written=written)

    @delete("/{person_id:uuid}", operation_id="deletePerson", sync_to_thread=True)
    def delete_person(
        self,
        person_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        people: NamedDependency[PeopleApplication],
        ryw: NamedDependency[ReadYourWrites],
        if_match: IfMatch = None,
    ) -> Response[None]:
        """Soft delete: the person and everything about them vanish until restored."""
        written = people.delete_person(
            principal.user_id, person_id, expected_version=expected_version(if_match)
        )
        remember(ryw, principal, written)
        return Response(None, status_code=204, headers={POSITION_HEADER: str(written.position)})

    @post(
        "/{person_id:uuid}/restore",
        operation_id="restorePerson",
        status_code=200,
        sync_to_thread=True,
    )
    def restore_person(
        self,
        request: Request[Any, Any, Any],
        person_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        people: NamedDependency[PeopleApplication],
        ryw: NamedDependency[ReadYourWrites],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[PersonOut]:
        """Bring a deleted person back, with their events and relationships."""

        def execute(key: Any) -> Response[PersonOut]:
            written = people.restore_person(principal.user_id, person_id, idempotency=key)
            remember(ryw, principal, written)
            return person_response(written.aggregate, written=written)

        def replay(stored: StoredResult) -> Response[PersonOut]:
            return person_response(
                people.at_version(principal.user_id, person_id, Person, stored.aggregate_version)
            )

        fingerprint = request_fingerprint("restorePerson", request.url.path, None)
        return idempotency.run(principal.user_id, idempotency_key, fingerprint, execute, replay)

    @get("/{person_id:uuid}/history", operation_id="personHistory", sync_to_thread=True)
    def history(
        self,
        person_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        people: NamedDependency[PeopleApplication],
    ) -> History:
        """Every change to the person, oldest first — also after deletion."""
        return history_of(people.history(principal.user_id, person_id, Person))

    @get(
        "/{person_id:uuid}/history/{version:int}",
        operation_id="personAtVersion",
        sync_to_thread=True,
    )
    def at_version(
        self,
        person_id: FromPath[UUID],
        version: FromPath[int],
        principal: NamedDependency[Principal],
        people: NamedDependency[PeopleApplication],
    ) -> Response[PersonOut]:
        """The person as they were right after change number ``version``."""
        return person_response(people.at_version(principal.user_id, person_id, Person, version))


def instant(field: str, value: str) -> datetime:
    """An RFC 3339 date-time with offset, or a 400 naming ``field``."""
    try:
        moment = msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInputError([FieldError(field, "must be an RFC 3339 date-time with offset")])
    return moment


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
