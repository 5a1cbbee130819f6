"""What is coming: the reminders of the schedule's window are listed as ``scheduled``
notifications, with the id, ``due_at``, title and body they keep when sent.

The first test is the user's own story on the shared database, with the real
clock and projector; the others use the process manager's world
(``process_manager_helpers``: a birthday on 10 March 2027, Berlin, reminded on the
day at 09:00 local over a webhook) and read through the HTTP API.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from pcem.projections.people_and_dates import PeopleAndDatesProjection
from pcem.projector.rebuild import Rebuild
from pcem.settings import Settings
from tests.conftest import TokenFactory
from tests.integration.api_helpers import bearer, create_person
from tests.integration.process_manager_helpers import (
    DUE,
    HOOK,
    NOON,
    USER,
    World,
    api_of,
    birthday,
    projected_api_of,
    world_of,
)
from tests.integration.test_upcoming import SETTINGS, add_event, settings_body

NOTIFICATIONS = "/api/v1/notifications"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def live(isolated: Settings) -> Iterator[TestClient[Any]]:
    """The API and the projector on a database of their own, whose horizon is today's
    (the shared database's is moved ahead by a test of the keeper)."""
    with projected_api_of(isolated) as client:
        yield client


def test_right_after_saving_settings_every_reminder_of_the_next_month_is_listed_with_its_time(
    live: TestClient[Any], token_for: TokenFactory
) -> None:
    client, auth = live, bearer(token_for(f"user-{uuid.uuid4()}"))
    # given birthdays in 5, 17 and 29 days (Berlin's calendar)
    today = datetime.now(BERLIN).date()
    ada = create_person(client, auth, first_name="Ada", last_name="Lovelace")
    birthdays = [today + timedelta(days=days) for days in (5, 17, 29)]
    for day in birthdays:  # 2000: a leap year, for a 29 February
        add_event(client, auth, ada["id"], event_date=f"2000-{day:%m-%d}", recurrence="yearly",
                  is_special_event=True)  # fmt: skip
    channels = [{"type": "email", "address": "ada@example.org"}, {"type": "in_app"}]

    # when the user saves their settings, and at once looks
    saved_at = datetime.now(UTC)
    body = settings_body("Europe/Berlin", lead_time_days=[7, 1, 0], channels=channels)
    assert client.put(SETTINGS, json=body, headers=auth).status_code == 200
    items = client.get(NOTIFICATIONS, params={"status": "scheduled"}, headers=auth).json()["items"]

    # then every reminder due from now to a month ahead is there, at 09:00 Berlin time
    month = (saved_at, saved_at + timedelta(days=31))
    expected = {
        (_rfc3339(due), lead, day.isoformat(), channel["type"])
        for day in birthdays
        for lead in (7, 1, 0)
        if month[0] < (due := _nine_in_berlin(day - timedelta(days=lead))) < month[1]
        for channel in channels
    }
    listed = {(i["due_at"], i["lead_time_days"], i["occurrence_date"], i["channel"]) for i in items}
    assert listed == expected and len(items) == len(expected) == 16  # 5 days: 7 ahead is past
    assert [i["due_at"] for i in items] == sorted((i["due_at"] for i in items), reverse=True)
    in_5_days = next(i for i in items if i["occurrence_date"] == birthdays[0].isoformat())
    assert in_5_days["title"].startswith("Ada Lovelace's birthday is ")
    assert {(i["attempts"], i["sent_at"], i["last_error"]) for i in items} == {(0, None, None)}


def _rfc3339(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def _nine_in_berlin(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture
def world(isolated: Settings) -> Iterator[World]:
    yield from world_of(isolated)


@pytest.fixture
def api(isolated: Settings) -> Iterator[TestClient[Any]]:
    with api_of(isolated) as client:
        yield client


@pytest.fixture
def mine(token_for: TokenFactory) -> dict[str, str]:
    return bearer(token_for(USER))


def listed(api: TestClient[Any], auth: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = api.get(NOTIFICATIONS, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_a_reminder_to_come_keeps_its_id_time_and_wording_when_it_is_sent(
    world: World, api: TestClient[Any], mine: dict[str, str]
) -> None:
    reminder = birthday(world)

    [coming] = listed(api, mine)
    one = api.get(f"{NOTIFICATIONS}/{reminder}", headers=mine)
    read = api.post(f"{NOTIFICATIONS}/{reminder}/read", headers=mine)
    world.tick(DUE)
    assert world.delivery.deliver(reminder, DUE) == "sent"
    [sent] = listed(api, mine)

    assert coming == {
        "id": str(reminder), "event_id": sent["event_id"], "person_id": sent["person_id"],
        "channel": "webhook", "lead_time_days": 0, "occurrence_date": "2027-03-10",
        "due_at": "2027-03-10T08:00:00Z", "status": "scheduled", "attempts": 0,
        "last_error": None, "sent_at": None, "read_at": None,
        "title": "Anna Lovelace's birthday is today",
        "body": "Anna Lovelace's birthday is today — Wednesday 10 March",
    }  # fmt: skip
    assert one.status_code == 200 and one.json() == {**coming, "attempt_log": []}
    assert read.status_code == 409  # nothing has been sent to read yet
    assert read.json()["detail"].endswith("is not due yet: it can be marked read once sent")
    assert sent == {**coming, "status": "sent", "attempts": 1, "sent_at": "2027-03-10T08:00:00Z"}


def test_reminders_to_come_move_with_a_new_zone_and_vanish_with_their_person(
    world: World, api: TestClient[Any], mine: dict[str, str]
) -> None:
    reminder = birthday(world)
    person = world.cal.rows(USER)[0].person_id

    world.webhook_at(HOOK, NOON, timezone="Asia/Tokyo")
    [moved] = listed(api, mine)
    world.cal.delete_person(USER, person, NOON)
    world.cal.catch_up()
    after_delete = listed(api, mine, status="scheduled")
    gone = api.get(f"{NOTIFICATIONS}/{reminder}", headers=mine)
    world.cal.restore_person(USER, person, NOON)
    world.cal.catch_up()

    assert (moved["id"], moved["due_at"]) == (str(reminder), "2027-03-10T00:00:00Z")  # 09:00 JST
    assert after_delete == [] and gone.status_code == 404
    assert [n["id"] for n in listed(api, mine)] == [str(reminder)]


def test_a_rebuilt_schedule_lists_the_same_reminders(
    world: World, api: TestClient[Any], mine: dict[str, str]
) -> None:
    birthday(world)
    person = world.cal.rows(USER)[0].person_id
    world.cal.event(USER, person, NOON, title="Name day", event_date=date(2000, 3, 20))
    world.cal.catch_up()
    before = listed(api, mine)

    projection = PeopleAndDatesProjection()
    assert Rebuild(projection, world.cal.db.engine, world.cal.db.app.mapper).run(threading.Event())

    assert len(before) == 2 and listed(api, mine) == before


def test_sent_and_coming_together_filter_page_and_stay_their_owners(
    world: World, api: TestClient[Any], mine: dict[str, str], token_for: TokenFactory
) -> None:
    # given one reminder sent and three to come
    reminder = birthday(world)
    person = world.cal.rows(USER)[0].person_id
    for day in (12, 15, 20):
        world.cal.event(USER, person, NOON, title=f"Day {day}", event_date=date(2000, 3, day))
    world.cal.catch_up()
    world.tick(DUE)
    world.delivery.deliver(reminder, DUE)

    # when
    pages, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = api.get(NOTIFICATIONS, params=params, headers=mine)
        pages.append(page.json()["items"])
        if (cursor := page.json()["next_cursor"]) is None:
            break
    someone_else = bearer(token_for("someone-else"))

    # then
    in_order = [item for page in pages for item in page]
    assert [i["occurrence_date"] for i in in_order] == [
        "2027-03-20", "2027-03-15", "2027-03-12", "2027-03-10",
    ]  # fmt: skip
    assert [i["status"] for i in in_order] == ["scheduled"] * 3 + ["sent"]
    assert [i["id"] for i in listed(api, mine, status="sent")] == [str(reminder)]
    assert len(listed(api, mine, status="scheduled", channel="webhook")) == 3
    assert listed(api, mine, channel="email") == listed(api, mine, status="failed") == []
    assert listed(api, someone_else) == []
    coming = UUID(in_order[0]["id"])
    assert api.get(f"{NOTIFICATIONS}/{coming}", headers=someone_else).status_code == 404
    assert api.post(f"{NOTIFICATIONS}/{coming}/read", headers=someone_else).status_code == 404
