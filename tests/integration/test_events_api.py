"""Events endpoints through the real app and servers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time

from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client, bearer, create_person

EVENTS = "/api/v1/events"


def create_event(
    client: Client, auth: dict[str, str], person_id: str, **body: Any
) -> dict[str, Any]:
    payload = {"person_id": person_id, "title": "Birthday", "event_date": "1990-06-01", **body}
    response = client.post(EVENTS, json=payload, headers=auth)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_all_day_event_is_created_and_read_back(client: Client, auth: dict[str, str]) -> None:
    ada = create_person(client, auth)

    response = client.post(
        EVENTS,
        json={
            "person_id": ada["id"],
            "title": "Birthday",
            "event_date": "1990-06-01",
            "is_special_event": True,
            "recurrence": "yearly",
            "notes": "likes tulips",
        },
        headers=auth,
    )

    assert response.status_code == 201
    event = response.json()
    assert response.headers["location"] == f"{EVENTS}/{event['id']}"
    assert response.headers["etag"] == 'W/"1"'
    assert {
        k: event[k] for k in ("event_date", "all_day", "is_special_event", "recurrence", "notes")
    } == {
        "event_date": "1990-06-01",
        "all_day": True,
        "is_special_event": True,
        "recurrence": "yearly",
        "notes": "likes tulips",
    }
    assert client.get(f"{EVENTS}/{event['id']}", headers=auth).json() == event
    assert [
        e["id"]
        for e in client.get(EVENTS, params={"person_id": ada["id"]}, headers=auth).json()["items"]
    ] == [event["id"]]


def test_instant_event_is_stored_in_utc(client: Client, auth: dict[str, str]) -> None:
    ada = create_person(client, auth)

    event = create_event(
        client, auth, ada["id"], event_date="2026-06-01T10:30:00+02:00", recurrence="weekly"
    )

    assert (event["event_date"], event["all_day"]) == ("2026-06-01T08:30:00Z", False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": None}, "title"),
        ({"event_date": "2026-13-01"}, "event_date"),
        ({"event_date": "tomorrow"}, "event_date"),
        ({"event_date": "2026-06-01T10:00:00"}, "event_date"),
        ({"event_date": 20260601}, "event_date"),
        ({"event_date": "0001-12-31"}, "event_date"),
        ({"event_date": "9999-01-01"}, "event_date"),
        ({"event_date": "9998-12-31T23:00:00-05:00"}, "event_date"),  # 9999 in UTC
        ({"event_date": "9999-12-31T23:00:00-05:00"}, "event_date"),  # past Python's calendar
        ({"event_date": "0001-01-01T00:00:00+05:00"}, "event_date"),
        ({"recurrence": "daily"}, "recurrence"),
        ({"notes": "n" * 2001}, "notes"),
        ({"is_special_event": "yes"}, "is_special_event"),
        ({"person_id": "someone"}, "person_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_event_input_is_400_naming_the_field(
    client: Client, auth: dict[str, str], body: dict[str, Any], field: str
) -> None:
    ada = create_person(client, auth)
    payload = {"person_id": ada["id"], "title": "Birthday", "event_date": "1990-06-01", **body}

    response = client.post(EVENTS, json=payload, headers=auth)

    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("event_date", "message"),
    [
        ("2026-02-30", "2026-02-30 does not exist: February 2026 has 28 days"),
        ("2028-02-30", "2028-02-30 does not exist: February 2028 has 29 days"),
        ("2026-04-31T09:00:00Z", "2026-04-31 does not exist: April 2026 has 30 days"),
        ("2026-13-01", "2026-13-01 does not exist: a year has 12 months"),
        ("2026-06-00", "2026-06-00 does not exist: June 2026 has 30 days"),
    ],
)
def test_a_date_that_does_not_exist_is_told_so(
    client: Client, auth: dict[str, str], event_date: str, message: str
) -> None:
    ada = create_person(client, auth)
    created = create_event(client, auth, ada["id"])
    payload = {"person_id": ada["id"], "title": "Birthday", "event_date": event_date}

    refused = client.post(EVENTS, json=payload, headers=auth)
    changed = client.patch(
        f"{EVENTS}/{created['id']}", json={"event_date": event_date}, headers=auth
    )

    for response in (refused, changed):
        assert response.status_code == 400, response.text
        assert response.json()["errors"] == [{"field": "event_date", "message": message}]


def test_event_for_a_missing_deleted_or_foreign_person_is_404(
    client: Client, auth: dict[str, str], token_for: TokenFactory
) -> None:
    deleted = create_person(client, auth)
    client.delete(f"{PEOPLE}/{deleted['id']}", headers=auth)
    foreign = create_person(client, bearer(token_for(f"other-{uuid.uuid4()}")))

    for person_id in (str(uuid.uuid4()), deleted["id"], foreign["id"]):
        payload = {"person_id": person_id, "title": "Birthday", "event_date": "1990-06-01"}
        assert client.post(EVENTS, json=payload, headers=auth).status_code == 404


def test_patch_delete_and_history_of_an_event(
    client: Client, auth: dict[str, str], user_id: str
) -> None:
    ada = create_person(client, auth)
    event = create_event(client, auth, ada["id"])
    url = f"{EVENTS}/{event['id']}"

    patched = client.patch(
        url,
        json={"title": "Ada's birthday", "recurrence": "yearly", "event_date": "1990-06-02"},
        headers={**auth, "If-Match": 'W/"1"'},
    )
    stale = client.patch(url, json={"notes": "x"}, headers={**auth, "If-Match": 'W/"1"'})
    deleted = client.delete(url, headers=auth)

    assert patched.status_code == 200
    assert (patched.json()["title"], patched.json()["event_date"], patched.json()["version"]) == (
        "Ada's birthday",
        "1990-06-02",
        2,
    )
    assert stale.status_code == 412
    assert deleted.status_code == 204
    assert client.get(url, headers=auth).status_code == 404
    assert client.patch(url, json={"notes": "x"}, headers=auth).status_code == 404
    history = client.get(f"{url}/history", headers=auth).json()["items"]
    assert [h["type"] for h in history] == ["EventCreated", "EventUpdated", "EventDeleted"]
    assert history[1]["changes"] == {
        "title": "Ada's birthday",
        "recurrence": "yearly",
        "event_date": "1990-06-02",
    }
    assert {h["actor"] for h in history} == {user_id}
    person_history = client.get(f"{PEOPLE}/{ada['id']}/history", headers=auth).json()["items"]
    assert [h["type"] for h in person_history] == ["PersonCreated", "EventAdded", "EventRemoved"]


def test_person_deletion_hides_their_events_and_restore_brings_them_back(
    client: Client, auth: dict[str, str]
) -> None:
    ada = create_person(client, auth)
    event = create_event(client, auth, ada["id"], is_special_event=True, recurrence="yearly")

    client.delete(f"{PEOPLE}/{ada['id']}", headers=auth)

    assert client.get(f"{EVENTS}/{event['id']}", headers=auth).status_code == 404
    assert client.get(EVENTS, headers=auth).json()["items"] == []
    assert (
        client.get(f"{EVENTS}/upcoming", params={"days": 366}, headers=auth).json()["items"] == []
    )
    assert (
        client.patch(f"{EVENTS}/{event['id']}", json={"notes": "x"}, headers=auth).status_code
        == 404
    )

    client.post(f"{PEOPLE}/{ada['id']}/restore", headers=auth)

    assert client.get(f"{EVENTS}/{event['id']}", headers=auth).status_code == 200
    assert (
        len(client.get(f"{EVENTS}/upcoming", params={"days": 366}, headers=auth).json()["items"])
        == 1
    )
    history = client.get(f"{EVENTS}/{event['id']}/history", headers=auth).json()["items"]
    assert [h["type"] for h in history] == [
        "EventCreated",
        "EventHiddenWithPerson",
        "EventShownWithPerson",
    ]


def test_event_as_of_an_instant_is_as_it_was_then(
    client: Client, user_id: str, token_for: TokenFactory, auth: dict[str, str]
) -> None:
    with freeze_time("2026-01-10T12:00:00Z"):
        mine = bearer(token_for(user_id))
        event = create_event(client, mine, create_person(client, mine)["id"], title="Birthday")
    with freeze_time("2026-03-01T08:00:00Z"):
        client.patch(
            f"{EVENTS}/{event['id']}",
            json={"title": "Ada's birthday"},
            headers=bearer(token_for(user_id)),
        )
    url = f"{EVENTS}/{event['id']}"

    def as_of(moment: str) -> Any:
        return client.get(url, params={"as_of": moment}, headers=auth)

    assert as_of("2026-01-10T11:59:59Z").status_code == 404
    then = as_of("2026-02-28T23:00:00-05:00")  # 04:00 UTC, before the change
    created = "2026-01-10T12:00:00Z"  # (the POST under freezegun answered "+00:00")
    assert then.json() == {**event, "created_at": created, "updated_at": created}
    assert then.headers["etag"] == 'W/"1"'
    now = as_of("2026-03-01T09:00:00+01:00")
    assert (now.json()["title"], now.json()["version"]) == ("Ada's birthday", 2)
    assert now.json() == client.get(url, headers=auth).json()
    assert now.headers["etag"] == 'W/"2"'
    for bad in ("yesterday", "2026-03-01", "2026-03-01T09:00:00"):
        response = as_of(bad)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "as_of"


def test_as_of_a_moment_the_event_was_hidden_or_deleted_is_404_like_a_plain_read(
    client: Client, user_id: str, token_for: TokenFactory, auth: dict[str, str]
) -> None:
    with freeze_time("2026-01-10T12:00:00Z"):
        ada = create_person(client, bearer(token_for(user_id)))
        event = create_event(client, bearer(token_for(user_id)), ada["id"])
    with freeze_time("2026-02-01T12:00:00Z"):  # the event is hidden with its person
        client.delete(f"{PEOPLE}/{ada['id']}", headers=bearer(token_for(user_id)))
    with freeze_time("2026-03-01T12:00:00Z"):
        client.post(f"{PEOPLE}/{ada['id']}/restore", headers=bearer(token_for(user_id)))
    with freeze_time("2026-04-01T12:00:00Z"):
        client.delete(f"{EVENTS}/{event['id']}", headers=bearer(token_for(user_id)))
    url = f"{EVENTS}/{event['id']}"

    def as_of(moment: str) -> Any:
        return client.get(url, params={"as_of": moment}, headers=auth)

    assert as_of("2026-02-01T11:59:59Z").json()["title"] == event["title"]
    hidden = as_of("2026-02-15T00:00:00Z")
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    shown = as_of("2026-03-15T00:00:00Z")
    assert (shown.status_code, shown.json()["version"]) == (200, 3)
    assert as_of("2026-04-01T12:00:00Z").status_code == 404
    after = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    assert as_of(after).status_code == client.get(url, headers=auth).status_code == 404


ROUTES = {
    "get": lambda c, h, e: c.get(f"{EVENTS}/{e}", headers=h),
    "get as_of": lambda c, h, e: c.get(
        f"{EVENTS}/{e}", params={"as_of": "2100-01-01T00:00:00Z"}, headers=h
    ),
    "patch": lambda c, h, e: c.patch(f"{EVENTS}/{e}", json={"title": "Mine now"}, headers=h),
    "delete": lambda c, h, e: c.delete(f"{EVENTS}/{e}", headers=h),
    "history": lambda c, h, e: c.get(f"{EVENTS}/{e}/history", headers=h),
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_another_users_event_is_404_and_untouched(
    client: Client, auth: dict[str, str], token_for: TokenFactory, route: str
) -> None:
    ada = create_person(client, auth)
    event = create_event(client, auth, ada["id"])
    intruder = bearer(token_for(f"intruder-{uuid.uuid4()}"))

    assert ROUTES[route](client, intruder, event["id"]).status_code == 404
    assert client.get(f"{EVENTS}/{event['id']}", headers=auth).json() == event
    assert (
        client.get(EVENTS, params={"person_id": ada["id"]}, headers=intruder).json()["items"] == []
    )
    assert (
        client.get(f"{EVENTS}/upcoming", params={"days": 366}, headers=intruder).json()["items"]
        == []
    )
