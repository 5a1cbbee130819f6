"""People endpoints: parse, call the application or the read model, map the result."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from pcem.aggregates.ownership import NotFoundError
from pcem.aggregates.person import Person
from pcem.aggregates.text_rules import NO_NUL
from pcem.api.conventions import Caller, Paging, command, query
from pcem.api.history import after_version, page_of
from pcem.api.instants import AsOf, instant
from pcem.api.json_input import reject_nul_characters
from pcem.api.pagination import Page, decode_cursor, encode_cursor
from pcem.api.people_schemas import CreatePerson, PersonOut, UpdatePerson, person_out
from pcem.api.problems import FieldError, InvalidInputError
from pcem.api.versions import etag, no_content, versioned_response, written_response
from pcem.commands.history import History, history_of
from pcem.commands.idempotency import StoredResult
from pcem.projections.catalog import PEOPLE_AND_DATES
from pcem.projections.people_view import PeopleFilter

PATH = "/api/v1/people"
MAX_KEYS = 20  # Litestar enforces max_items
MAX_KEY_LENGTH = 200
_KEY_ITEMS = {
    "items": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": NO_NUL.pattern,
    }
}
# A JSON object sent as text: a string to every client and generator, and its format
# names what the text must hold (tests/contract/hooks.py draws such texts).
_JSON_OBJECT_TEXT = {"format": "json-object"}
_META_DOC = (
    'A JSON object as text, e.g. {"school": "Hillside"}: people whose metadata contains it'
    " (nested objects and arrays too). Any other JSON, or a NUL character, is a 400."
)


def _replay_created(caller: Caller, stored: StoredResult) -> Response[PersonOut]:
    person = caller.services.people.at_version(
        caller.user_id, stored.aggregate_id, Person, stored.aggregate_version
    )
    body = person_out(person)
    return versioned_response(body, body.version, status=201, location=f"{PATH}/{body.id}")


def _replay_restored(caller: Caller, stored: StoredResult) -> Response[PersonOut]:
    person = caller.services.people.at_version(
        caller.user_id, stored.aggregate_id, Person, stored.aggregate_version
    )
    return versioned_response(person_out(person), person.version)


class PeopleController(Controller):
    path = PATH
    tags = ["people"]

    @post(
        "/",
        operation_id="createPerson",
        status_code=201,
        sync_to_thread=True,
        **command(replay=_replay_created),
    )
    def create_person(
        self, data: JSONBody[CreatePerson], caller: NamedDependency[Caller]
    ) -> Response[PersonOut]:
        """Create a person. 201 with the person and a ``Location`` header."""
        reject_nul_characters("metadata", data.metadata)
        written = caller.services.people.create_person(caller.user_id, **data.fields())
        body = person_out(written.aggregate)
        return written_response(body, written, status=201, location=f"{PATH}/{body.id}")

    @get("/{person_id:uuid}", operation_id="getPerson", **query(PEOPLE_AND_DATES))
    async def get_person(
        self, person_id: FromPath[UUID], caller: NamedDependency[Caller], as_of: AsOf = None
    ) -> Response[PersonOut]:
        """One of the caller's people; 404 if missing, deleted or someone else's.
        With ``as_of``, the person as they were at that moment (from the event store)."""
        if as_of is not None:
            return await caller.in_thread(self._as_of, caller, person_id, instant("as_of", as_of))
        row = await caller.serving.people_view.get(caller.user_id, person_id)
        if row is None:
            raise NotFoundError("Person", person_id)
        return Response(row, headers={"ETag": etag(row.version)})

    @staticmethod
    def _as_of(caller: Caller, person_id: UUID, moment: Any) -> Response[PersonOut]:
        person = caller.services.people.as_of(caller.user_id, person_id, Person, moment)
        return versioned_response(person_out(person), person.version)

    @get("/", operation_id="listPeople", **query(PEOPLE_AND_DATES))
    async def list_people(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        q: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL.pattern)] = None,
        has_key: Annotated[
            list[str] | None, QueryParameter(max_items=MAX_KEYS, schema_extra=_KEY_ITEMS)
        ] = None,
        meta: Annotated[
            str | None,
            QueryParameter(max_length=4096, description=_META_DOC, schema_extra=_JSON_OBJECT_TEXT),
        ] = None,
    ) -> Page[PersonOut]:
        """The caller's people ordered by ``last_name, first_name, id``, optionally searched."""
        search = PeopleFilter(q=q or None, has_keys=_has_keys(has_key), meta=_meta(meta))
        after = _person_sort_key(paging.cursor) if paging.cursor else None
        rows = await caller.serving.people_view.page(
            caller.user_id, search, after=after, limit=paging.fetch
        )
        return paging.page(rows, lambda row: encode_cursor(row.sort_key))

    @patch(
        "/{person_id:uuid}",
        operation_id="updatePerson",
        sync_to_thread=True,
        **command(conditional=True),
    )
    def update_person(
        self,
        person_id: FromPath[UUID],
        data: JSONBody[UpdatePerson],
        caller: NamedDependency[Caller],
    ) -> Response[PersonOut]:
        """Change names, contact or metadata (a JSON Merge Patch: ``null`` removes a key).
        ``If-Match`` makes it conditional (412 on mismatch); without it, concurrent
        updates are applied one after another and none is lost."""
        patch_doc = data.metadata_patch()
        if patch_doc is not None:
            reject_nul_characters("metadata", patch_doc)
        written = caller.services.people.update_person(
            caller.user_id,
            person_id,
            data.fields(),
            patch_doc,
            expected_version=caller.expected_version,
        )
        return written_response(person_out(written.aggregate), written)

    @delete(
        "/{person_id:uuid}",
        operation_id="deletePerson",
        sync_to_thread=True,
        **command(conditional=True),
    )
    def delete_person(
        self, person_id: FromPath[UUID], caller: NamedDependency[Caller]
    ) -> Response[None]:
        """Soft delete: the person and everything about them vanish until restored."""
        written = caller.services.people.delete_person(
            caller.user_id, person_id, expected_version=caller.expected_version
        )
        return no_content(written)

    @post(
        "/{person_id:uuid}/restore",
        operation_id="restorePerson",
        status_code=200,
        sync_to_thread=True,
        **command(replay=_replay_restored),
    )
    def restore_person(
        self, person_id: FromPath[UUID], caller: NamedDependency[Caller]
    ) -> Response[PersonOut]:
        """Bring a deleted person back, with their events and relationships."""
        written = caller.services.people.restore_person(caller.user_id, person_id)
        return written_response(person_out(written.aggregate), written)

    @get("/{person_id:uuid}/history", operation_id="personHistory", sync_to_thread=True)
    def history(
        self,
        person_id: FromPath[UUID],
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
    ) -> History:
        """Every change to the person, oldest first — also after deletion; paged by version."""
        events = caller.services.people.history(
            caller.user_id,
            person_id,
            Person,
            after=after_version(paging, person_id),
            limit=paging.fetch,
        )
        return history_of(*page_of(paging, person_id, events))

    @get(
        "/{person_id:uuid}/history/{version:int}",
        operation_id="personAtVersion",
        sync_to_thread=True,
    )
    def at_version(
        self, person_id: FromPath[UUID], version: FromPath[int], caller: NamedDependency[Caller]
    ) -> Response[PersonOut]:
        """The person as they were right after change number ``version``."""
        person = caller.services.people.at_version(caller.user_id, person_id, Person, version)
        return versioned_response(person_out(person), person.version)


def _has_keys(values: list[str] | None) -> tuple[str, ...]:
    keys = tuple(values or ())
    if any(not k or len(k) > MAX_KEY_LENGTH or not NO_NUL.matches(k) for k in keys):
        raise InvalidInputError(
            [FieldError("has_key", f"each key must be 1..{MAX_KEY_LENGTH} characters")]
        )
    return keys


def _meta(value: str | None) -> dict[str, Any]:
    if value is None:
        return {}
    try:
        parsed = msgspec.json.decode(value)
    except (msgspec.DecodeError, RecursionError):  # msgspec refuses ~1,000 levels so
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
