"""A new route gets auth, scoping, read-your-writes, idempotency, logs and metrics
by declaring what it is: the throw-away routes below copy none of that code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import msgspec
import pytest
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.testing import TestClient

from pcem.aggregates.ownership import NotFoundError
from pcem.aggregates.person import Person
from pcem.api.app import create_app
from pcem.api.conventions import Caller, command, query
from pcem.api.versions import written_response
from pcem.commands.idempotency import StoredResult
from pcem.wiring import Container
from tests.conftest import TokenFactory
from tests.integration.api_helpers import bearer

NOTES = "/api/v1/test-notes"


class NewNote(msgspec.Struct):
    text: str


class Note(msgspec.Struct):
    id: UUID
    text: str


def _replay(caller: Caller, stored: StoredResult) -> Response[Note]:
    person = caller.services.people.at_version(
        caller.user_id, stored.aggregate_id, Person, stored.aggregate_version
    )
    return Response(Note(person.id, person.first_name), status_code=201)


class NotesController(Controller):
    """Only parse, call, map: everything else comes from the declarations."""

    path = NOTES

    @post("/", status_code=201, sync_to_thread=True, **command(replay=_replay))
    def add(self, data: JSONBody[NewNote], caller: NamedDependency[Caller]) -> Response[Note]:
        written = caller.services.people.create_person(caller.user_id, first_name=data.text)
        return written_response(Note(written.aggregate.id, data.text), written, status=201)

    @get("/{note_id:uuid}", **query("people_and_dates"))
    async def read(self, note_id: FromPath[UUID], caller: NamedDependency[Caller]) -> Note:
        row = await caller.serving.people_view.get(caller.user_id, note_id)
        if row is None:
            raise NotFoundError("Note", note_id)
        return Note(row.id, row.first_name)


@pytest.fixture(scope="module")
def notes(container: Container, projector: None) -> Iterator[TestClient[Any]]:
    app = create_app(container, extra_routes=[NotesController])
    app.on_shutdown.clear()  # the session's container outlives this client
    with TestClient(app) as client:
        yield client


def test_a_new_route_needs_a_valid_token(notes: TestClient[Any]) -> None:
    response = notes.post(NOTES, json={"text": "hi"})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_new_query_reads_the_callers_own_write_at_once(
    notes: TestClient[Any], token_for: TokenFactory, container: Container
) -> None:
    auth = bearer(token_for("notes-ryw"))
    created = notes.post(NOTES, json={"text": "first"}, headers=auth)

    assert created.status_code == 201
    position = int(created.headers["pcem-position"])
    assert int(container.redis.get("pcem:ryw:notes-ryw") or 0) >= position  # remembered
    read = notes.get(f"{NOTES}/{created.json()['id']}", headers=auth)  # no sleep, no header
    assert read.status_code == 200
    assert read.json()["text"] == "first"


def test_a_new_query_honours_pcem_min_position(
    notes: TestClient[Any], token_for: TokenFactory
) -> None:
    auth = bearer(token_for("notes-min"))
    created = notes.post(NOTES, json={"text": "x"}, headers=auth).json()

    beyond = notes.get(f"{NOTES}/{created['id']}", headers={**auth, "PCEM-Min-Position": "9" * 15})
    malformed = notes.get(f"{NOTES}/{created['id']}", headers={**auth, "PCEM-Min-Position": "x"})

    assert beyond.status_code == 400
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["field"] == "PCEM-Min-Position"


def test_a_new_query_is_scoped_to_its_caller(
    notes: TestClient[Any], token_for: TokenFactory
) -> None:
    mine = notes.post(NOTES, json={"text": "mine"}, headers=bearer(token_for("notes-a"))).json()

    theirs = notes.get(f"{NOTES}/{mine['id']}", headers=bearer(token_for("notes-b")))

    assert theirs.status_code == 404


def test_a_new_command_is_idempotent_by_key(
    notes: TestClient[Any], token_for: TokenFactory, container: Container
) -> None:
    auth = {**bearer(token_for("notes-key")), "Idempotency-Key": "note-1"}

    first = notes.post(NOTES, json={"text": "once"}, headers=auth)
    again = notes.post(NOTES, json={"text": "once"}, headers=auth)
    other = notes.post(NOTES, json={"text": "twice"}, headers=auth)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other.status_code == 422
    history = container.people.history("notes-key", UUID(first.json()["id"]), Person)
    assert len(history) == 1  # replayed, not applied again


def test_a_new_route_is_measured_by_its_template(
    notes: TestClient[Any], token_for: TokenFactory
) -> None:
    notes.post(NOTES, json={"text": "m"}, headers=bearer(token_for("notes-metrics")))

    metrics = notes.get("/metrics").text

    assert 'route="/api/v1/test-notes"' in metrics


def test_the_declared_headers_are_documented_on_each_operation(notes: TestClient[Any]) -> None:
    paths = notes.get("/schema/openapi.json").json()["paths"]

    def headers(path: str, method: str) -> set[str]:
        parameters = paths[path][method].get("parameters", [])
        return {p["name"] for p in parameters if p["in"] == "header"}

    assert headers("/api/v1/test-notes/{note_id}", "get") == {"PCEM-Min-Position"}
    assert headers("/api/v1/test-notes", "post") == {"Idempotency-Key"}
    assert "If-Match" in headers("/api/v1/people/{person_id}", "patch")
