"""Every event of every aggregate moves what reads answer: ``version``, ``updated_at``
and the ``ETag``, so an ``If-Match`` with the ETag a GET gave is accepted.

The aggregates and their event classes are found by introspection: a new event
class fails ``test_every_event_class_has_a_trigger`` until it is given a trigger
below, and then has to keep the reads in step like every other.
"""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, DomainEventProtocol
from sqlalchemy import text

import pcem.aggregates
from pcem.aggregates.erased import ErasedEvent
from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.ownership import OwnedAggregate
from pcem.aggregates.person import Person
from pcem.aggregates.settings import UserSettings, settings_id
from pcem.wiring import Container
from tests.integration.api_helpers import PEOPLE, Client, create_person, relate

EVENTS = "/api/v1/events"
SETTINGS = "/api/v1/me/settings"


def aggregate_classes() -> list[type[OwnedAggregate]]:
    for module in pkgutil.iter_modules(pcem.aggregates.__path__):
        importlib.import_module(f"{pcem.aggregates.__name__}.{module.name}")
    found, pending = [], list(OwnedAggregate.__subclasses__())
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending += kind.__subclasses__()
    return sorted(found, key=lambda k: k.__qualname__)


def event_classes(aggregate: type[Aggregate]) -> list[type[Aggregate.Event]]:
    """The aggregate's own event classes (not the generated ``Event`` base)."""
    return [
        value
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, Aggregate.Event) and name != "Event"
    ]


ALL_EVENT_CLASSES = [e for a in aggregate_classes() for e in event_classes(a)]


@dataclass
class World:
    """One user's person Ada with an event, and Bob, her possible relation."""

    client: Client
    auth: dict[str, str]
    user_id: str
    container: Container
    ids: dict[str, str] = field(default_factory=dict)
    people: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)

    def person(self, name: str, **body: Any) -> str:
        person_id = str(create_person(self.client, self.auth, first_name=name, **body)["id"])
        self.people.add(person_id)
        return person_id

    def event(self, person: str, **body: Any) -> str:
        payload = {"person_id": person, "title": "Birthday", "event_date": "1990-06-01", **body}
        response = self.client.post(EVENTS, json=payload, headers=self.auth)
        assert response.status_code == 201, response.text
        self.events.add(event_id := str(response.json()["id"]))
        return event_id

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, headers=self.auth, **kwargs)
        assert response.status_code < 300, response.text
        return response


def _settings(timezone: str) -> dict[str, Any]:
    return {"timezone": timezone}


def _unrelate(w: World) -> None:
    relationship = relate(w.client, w.auth, w.ids["ada"], w.ids["bob"], "friend").json()
    w.call("DELETE", f"{PEOPLE}/{w.ids['ada']}/relationships/{relationship['id']}")


def _delete_and_restore(w: World) -> None:
    w.call("DELETE", f"{PEOPLE}/{w.ids['ada']}")
    w.call("POST", f"{PEOPLE}/{w.ids['ada']}/restore")


def _erase_account(w: World) -> None:
    w.call("DELETE", "/api/v1/me", params={"confirm": w.user_id})
    with w.container.engine.connect() as conn:
        erasure_id = conn.execute(
            text("SELECT id FROM account_erasures WHERE user_id = :u"), {"u": w.user_id}
        ).scalar_one()
    assert w.container.account_erasure.run(erasure_id) == "done"  # as the worker does


# How each event class comes about through the API.
TRIGGERS: dict[type[Aggregate.Event], Callable[[World], object]] = {
    Person.Created: lambda w: w.person("Cy"),
    Person.Updated: lambda w: w.call("PATCH", f"{PEOPLE}/{w.ids['ada']}", json={"last_name": "L"}),
    Person.Deleted: lambda w: w.call("DELETE", f"{PEOPLE}/{w.ids['ada']}"),
    Person.Restored: _delete_and_restore,
    Person.RelationshipAdded: lambda w: relate(w.client, w.auth, w.ids["ada"], w.ids["bob"], "f"),
    Person.RelationshipRemoved: _unrelate,
    Person.EventAttached: lambda w: w.event(w.ids["bob"]),
    Person.EventDetached: lambda w: w.call("DELETE", f"{EVENTS}/{w.ids['birthday']}"),
    CalendarEvent.Created: lambda w: w.event(w.ids["ada"], title="Wedding"),
    CalendarEvent.Updated: lambda w: w.call(
        "PATCH", f"{EVENTS}/{w.ids['birthday']}", json={"title": "Day"}
    ),
    CalendarEvent.Deleted: lambda w: w.call("DELETE", f"{EVENTS}/{w.ids['birthday']}"),
    CalendarEvent.HiddenWithPerson: lambda w: w.call("DELETE", f"{PEOPLE}/{w.ids['ada']}"),
    CalendarEvent.ShownWithPerson: _delete_and_restore,
    # Saving the defaults of a user who never saved settings records only the creation.
    UserSettings.Created: lambda w: w.call("PUT", SETTINGS, json=_settings("UTC")),
    UserSettings.Changed: lambda w: w.call("PUT", SETTINGS, json=_settings("Asia/Kathmandu")),
    # Tombstones: what they erase answers nothing any more, and nothing else moves.
    Person.Purged: lambda w: w.call("POST", f"{PEOPLE}/{w.ids['ada']}/purge"),
    CalendarEvent.PurgedWithPerson: lambda w: w.call("POST", f"{PEOPLE}/{w.ids['ada']}/purge"),
    UserSettings.AccountErased: _erase_account,
}


def test_every_event_class_has_a_trigger() -> None:
    assert {Person, CalendarEvent, UserSettings} <= set(aggregate_classes())
    assert set(TRIGGERS) == set(ALL_EVENT_CLASSES)


@pytest.fixture
def world(
    client: Client, auth: dict[str, str], user_id: str, container: Container
) -> Iterator[World]:
    w = World(client, auth, user_id, container)
    w.ids["ada"], w.ids["bob"] = w.person("Ada"), w.person("Bob")
    w.ids["birthday"] = w.event(w.ids["ada"], recurrence="yearly")
    yield w


@pytest.mark.parametrize("event_class", ALL_EVENT_CLASSES, ids=lambda e: e.__qualname__)
def test_reads_follow_every_event_of_every_aggregate(
    world: World, container: Container, event_class: type[Aggregate.Event]
) -> None:
    TRIGGERS[event_class](world)

    recorded = [type(e) for e in _histories(container, world)]
    assert event_class in recorded, f"the trigger recorded no {event_class.__qualname__}"
    _wait_for_projections(world)
    for person_id in world.people:
        _check_person(world, container, person_id)
    for event_id in world.events:
        _check_event(world, container, event_id)
    _check_settings(world, container)


def _histories(container: Container, w: World) -> Iterator[DomainEventProtocol[UUID]]:
    store = container.people.repository.event_store
    erased_settings = settings_id(w.user_id)  # the first account's, erased or not
    for aggregate_id in (*w.people, *w.events, str(erased_settings)):
        yield from store.get(UUID(aggregate_id))


def _wait_for_projections(w: World) -> None:
    """A query waits until the projections reflect the caller's writes."""
    assert w.client.get(PEOPLE, headers=w.auth).status_code == 200


def _check_person(w: World, container: Container, person_id: str) -> None:
    url = f"{PEOPLE}/{person_id}"
    person: Person | None = _unless_erased(container, container.people.repository, person_id)
    if person is None:
        assert _read_row(container, "people", person_id) is None
        assert w.client.get(f"{url}/history", headers=w.auth).status_code == 404
        return
    assert _read_row(container, "people", person_id) == (person.version, person.modified_on)
    got = w.client.get(url, headers=w.auth)
    if person.is_deleted:
        assert got.status_code == 404
        return
    _check_versioned(got, person.version, person.modified_on)
    listed = [p for p in _all_items(w, PEOPLE) if p["id"] == person_id]
    assert listed == [got.json()]
    at_version = w.client.get(f"{url}/history/{person.version}", headers=w.auth)
    as_of = w.client.get(url, params={"as_of": _now()}, headers=w.auth)
    assert at_version.json() == as_of.json() == got.json()
    assert at_version.headers["ETag"] == as_of.headers["ETag"] == got.headers["ETag"]
    same = {"first_name": person.first_name}  # changes nothing: only the version is checked
    patched = w.client.patch(url, json=same, headers={**w.auth, "If-Match": got.headers["ETag"]})
    assert patched.status_code == 200, patched.text


def _check_event(w: World, container: Container, event_id: str) -> None:
    url = f"{EVENTS}/{event_id}"
    event: CalendarEvent | None = _unless_erased(container, container.calendar.repository, event_id)
    if event is None:
        assert _read_row(container, "events", event_id) is None
        assert w.client.get(f"{url}/history", headers=w.auth).status_code == 404
        return
    assert _read_row(container, "events", event_id) == (event.version, event.modified_on)
    got = w.client.get(url, headers=w.auth)
    if event.is_deleted or event.is_hidden:
        assert got.status_code == 404
        return
    _check_versioned(got, event.version, event.modified_on)
    listed = [e for e in _all_items(w, EVENTS) if e["id"] == event_id]
    assert listed == [got.json()]
    last = w.client.get(f"{url}/history", headers=w.auth).json()["items"][-1]
    as_of = w.client.get(url, params={"as_of": _now()}, headers=w.auth)
    assert last["version"] == event.version
    assert as_of.json() == got.json()
    assert as_of.headers["ETag"] == got.headers["ETag"]
    same = {"title": event.title}
    patched = w.client.patch(url, json=same, headers={**w.auth, "If-Match": got.headers["ETag"]})
    assert patched.status_code == 200, patched.text


def _unless_erased(container: Container, repository: Any, aggregate_id: str) -> Any:
    """The aggregate, or None when its key was destroyed: its history is erased events
    (the store keeps their place, type and time), and nothing rebuilds it."""
    try:
        return repository.get(UUID(aggregate_id))
    except AggregateNotFoundError:
        stored = container.people.repository.event_store.get(UUID(aggregate_id))
        assert any(isinstance(e, ErasedEvent) for e in stored), f"{aggregate_id} was lost"
        return None


def _check_settings(w: World, container: Container) -> None:
    current = settings_id(w.user_id, container.account_erasures.generation(w.user_id))
    saved = list(container.settings_app.repository.event_store.get(current))
    got = w.client.get(SETTINGS, headers=w.auth)
    if not saved:  # never saved: the defaults, and no row
        assert got.headers["ETag"] == 'W/"1"'
        assert _read_row(container, "user_settings", w.user_id, key="user_id") is None
        return
    settings = container.settings_app.settings(w.user_id)
    assert got.headers["ETag"] == f'W/"{settings.version}"'
    assert _read_row(container, "user_settings", w.user_id, key="user_id") == (
        settings.version,
        settings.modified_on,
    )
    put = w.client.put(
        SETTINGS, json=got.json(), headers={**w.auth, "If-Match": got.headers["ETag"]}
    )
    assert put.status_code == 200, put.text


def _check_versioned(response: Any, version: int, modified_on: datetime) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == f'W/"{version}"'
    body = response.json()
    assert body["version"] == version
    assert datetime.fromisoformat(body["updated_at"]) == modified_on


def _all_items(w: World, path: str) -> list[dict[str, Any]]:
    return list(w.client.get(path, params={"limit": 200}, headers=w.auth).json()["items"])


def _read_row(
    container: Container, table: str, row_id: str, key: str = "id"
) -> tuple[int, datetime] | None:
    with container.engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT version, updated_at FROM {table} WHERE {key} = :id"),
            {"id": row_id if key != "id" else uuid.UUID(row_id)},
        ).first()
    return (row.version, row.updated_at) if row else None


def _now() -> str:
    return datetime.now(UTC).isoformat()
