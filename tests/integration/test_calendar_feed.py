"""The calendar feed over HTTP: its secret URL made, rotated and revoked; what it holds,
for whom; its validators; its limit per address."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import pytest
from freezegun import freeze_time
from litestar.testing import TestClient

from pcem.api.app import create_app
from pcem.settings import Settings
from tests.conftest import TokenFactory
from tests.ical_reader import parsed
from tests.integration.api_helpers import Client, bearer, create_person
from tests.integration.feed_helpers import EVENTS, FEED, add_event, caught_up, make_feed
from tests.integration.test_rate_limits import low_limits_container

PROBLEM = "application/problem+json"


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_a_new_feed_url_is_shown_once_and_its_status_after(
    client: Client, auth: dict[str, str]
) -> None:
    made = client.post(FEED, headers=auth)

    assert made.status_code == 201
    assert made.headers["Cache-Control"] == "no-store"
    assert made.headers["Location"] == FEED
    body = made.json()
    assert set(body) == {"url", "webcal_url", "created_at"}
    url = urlsplit(body["url"])
    assert url.path.startswith("/feeds/calendar/") and url.path.endswith(".ics")
    assert len(url.path.removeprefix("/feeds/calendar/").removesuffix(".ics")) == 43  # 256 bits
    assert body["webcal_url"] == "webcal" + body["url"].removeprefix(url.scheme)
    assert client.get(FEED, headers=auth).json() == {
        "created_at": body["created_at"],
        "last_fetched_at": None,
    }
    assert client.get(url.path).status_code == 200
    assert client.get(FEED, headers=auth).json()["last_fetched_at"] is not None


def test_without_a_feed_its_status_and_revocation_are_404(
    client: Client, auth: dict[str, str]
) -> None:
    assert_not_found(client.get(FEED, headers=auth))
    assert_not_found(client.delete(FEED, headers=auth))


def test_a_new_url_stops_the_earlier_one_at_once(client: Client, auth: dict[str, str]) -> None:
    first = make_feed(client, auth)
    second = make_feed(client, auth)

    assert_not_found(client.get(first))
    assert client.get(second).status_code == 200


def test_a_revoked_url_stops_at_once(client: Client, auth: dict[str, str]) -> None:
    path = make_feed(client, auth)

    assert client.delete(FEED, headers=auth).status_code == 204

    assert_not_found(client.get(path))
    assert_not_found(client.get(FEED, headers=auth))


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/calendar/" + "A" * 43 + ".ics",  # the shape of a token, never issued
        "/feeds/calendar/" + "A" * 43,  # no .ics
        "/feeds/calendar/short.ics",
        "/feeds/calendar/" + "%00" * 43 + ".ics",
    ],
)
def test_an_unknown_feed_is_a_404_problem(client: Client, path: str) -> None:
    assert_not_found(client.get(path))


def test_the_feed_needs_no_bearer_token_and_ignores_one(
    client: Client, auth: dict[str, str], token_for: TokenFactory
) -> None:
    path = make_feed(client, auth)

    assert client.get(path).status_code == 200
    assert client.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 200
    assert client.get(path, headers=bearer(token_for("someone-else"))).status_code == 200


def test_the_feed_holds_each_live_event_of_live_people_and_no_other_users(
    client: Client, auth: dict[str, str], token_for: TokenFactory
) -> None:
    ada, bob = create_person(client, auth), create_person(client, auth, first_name="Bob")
    kept = add_event(client, auth, ada["id"], title="Birthday")
    deleted = add_event(client, auth, ada["id"], title="Gone")
    of_deleted_person = add_event(client, auth, bob["id"], title="Hidden")
    assert client.delete(f"{EVENTS}/{deleted}", headers=auth).status_code == 204
    assert client.delete(f"/api/v1/people/{bob['id']}", headers=auth).status_code == 204
    other = bearer(token_for(f"other-{uuid.uuid4()}"))
    theirs = add_event(client, other, create_person(client, other)["id"], title="Theirs")
    caught_up(client, auth)
    caught_up(client, other)

    mine = parsed(client.get(make_feed(client, auth)).content)
    their_feed = parsed(client.get(make_feed(client, other)).content)

    assert [str(e["UID"]) for e in mine.walk("VEVENT")] == [f"{kept}@pcem"]
    assert [str(e["UID"]) for e in their_feed.walk("VEVENT")] == [f"{theirs}@pcem"]
    assert of_deleted_person not in client.get(make_feed(client, auth)).text


def test_an_empty_account_gets_a_valid_calendar(client: Client, auth: dict[str, str]) -> None:
    response = client.get(make_feed(client, auth))

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = parsed(response.content)
    assert calendar["VERSION"] == "2.0"
    assert calendar.walk("VEVENT") == []
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["UTC"]  # a component


def test_all_day_events_are_dates_ending_the_next_day_and_timed_ones_utc(
    client: Client, auth: dict[str, str]
) -> None:
    person = create_person(client, auth, first_name="Zoë", last_name="Ünal")
    title = "Geburtstag; mit, Komma \\ und einem sehr langen Titel: " + "ä" * 60
    add_event(client, auth, person["id"], title=title, event_date="1990-06-01",
              recurrence="yearly", notes="line one\nline two")  # fmt: skip
    add_event(client, auth, person["id"], title="Call", event_date="2031-05-04T18:30:00+02:00")
    caught_up(client, auth)

    content = client.get(make_feed(client, auth)).content

    assert all(len(line) <= 75 for line in content.split(b"\r\n"))
    assert b"\n" not in content.replace(b"\r\n", b"")
    birthday, call = parsed(content).walk("VEVENT")
    assert birthday.decoded("DTSTART") == datetime(1990, 6, 1).date()
    assert birthday.decoded("DTEND") == datetime(1990, 6, 2).date()
    assert birthday["DTSTART"].params["VALUE"] == "DATE"
    assert birthday["RRULE"].to_ical() == b"FREQ=YEARLY"
    assert str(birthday["SUMMARY"]) == f"Zoë Ünal: {title}"
    assert str(birthday["DESCRIPTION"]) == "line one\nline two"
    assert b"DTSTART:20310504T163000Z\r\n" in content  # the instant, in UTC
    assert "DTEND" not in call and "RRULE" not in call


def test_identical_data_gives_identical_bytes_stamped_with_the_last_change(
    client: Client, auth: dict[str, str]
) -> None:
    person = create_person(client, auth)
    event_id = add_event(client, auth, person["id"], recurrence="yearly")
    changed = client.patch(f"{EVENTS}/{event_id}", json={"title": "Name day"}, headers=auth)
    caught_up(client, auth)
    path = make_feed(client, auth)
    first = client.get(path)

    with freeze_time("2040-02-29T12:00:00Z", tick=True):
        later = client.get(path)

    assert later.content == first.content
    assert later.headers["ETag"] == first.headers["ETag"]
    [event] = parsed(first.content).walk("VEVENT")
    updated_at = datetime.fromisoformat(changed.json()["updated_at"])
    assert event.decoded("DTSTAMP") == updated_at.replace(microsecond=0)
    assert event.decoded("LAST-MODIFIED") == updated_at.replace(microsecond=0)


def test_a_changed_event_changes_the_etag_and_a_current_one_answers_304(
    client: Client, auth: dict[str, str]
) -> None:
    person = create_person(client, auth)
    event_id = add_event(client, auth, person["id"])
    caught_up(client, auth)  # the feed serves the read tables as they are: no wait
    path = make_feed(client, auth)
    first = client.get(path)
    tag = first.headers["ETag"]

    current = client.get(path, headers={"If-None-Match": tag})
    weak_or_listed = client.get(path, headers={"If-None-Match": f'"other", W/{tag}'})
    client.patch(f"{EVENTS}/{event_id}", json={"title": "Name day"}, headers=auth)
    caught_up(client, auth)
    changed = client.get(path, headers={"If-None-Match": tag})

    assert current.status_code == weak_or_listed.status_code == 304
    assert current.content == b""
    assert current.headers["ETag"] == tag  # validators repeated on the 304
    assert current.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert tag.startswith('"') and tag.endswith('"')  # strong: the content's own
    assert changed.status_code == 200
    assert changed.headers["ETag"] != tag
    assert b"Name day" in changed.content


@pytest.fixture
def feed_limited(settings: Settings, projector: None) -> Iterator[Callable[[], Client]]:
    """An API replica allowing 3 feed fetches a minute per address (its own minute)."""
    made: list[Client] = []
    minute = float(uuid.uuid4().int % 10_000_000 + 50_000_000) * 60 + 20.0

    def replica() -> Client:
        container = low_limits_container(
            settings,
            settings.require_redis().url,
            minute,
            PCEM_RATE_LIMIT_FEED_PER_MINUTE="3",
            PCEM_RATE_LIMIT_ANON_PER_MINUTE="1000",
            PCEM_RATE_LIMIT_PER_MINUTE="1000",
        )
        made.append(TestClient(create_app(container)).__enter__())
        return made[-1]

    yield replica
    for client in made:
        client.__exit__(None, None, None)


def test_feed_fetches_over_the_limit_of_an_address_answer_429_with_retry_after(
    client: Client, auth: dict[str, str], feed_limited: Callable[[], Client]
) -> None:
    path = make_feed(client, auth)
    api = feed_limited()

    answered = [api.get(path).status_code for _ in range(2)]
    unknown = api.get("/feeds/calendar/" + "B" * 43 + ".ics")  # counted too
    refused = api.get(path)

    assert answered == [200, 200]
    assert unknown.status_code == 404
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert refused.headers["Retry-After"] == "40"
    assert refused.headers["RateLimit-Policy"] == '"feed";q=3;w=60'
    assert refused.json()["detail"] == (
        "too many requests: at most 3 a minute for each client address fetching calendar"
        " feeds; try again in 40 s"
    )


def test_the_openapi_document_describes_the_feed_routes_as_they_answer(client: Client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]

    fetch = paths["/feeds/calendar/{token}.ics"]["get"]
    mine = paths[FEED]
    assert fetch["security"] == []
    assert [p["name"] for p in fetch["parameters"]] == ["token", "If-None-Match"]
    assert set(fetch["responses"]) == {"200", "304", "404", "429", "503"}
    assert set(fetch["responses"]["304"]["headers"]) == {"ETag", "Cache-Control"}
    assert "text/calendar" in fetch["responses"]["200"]["content"]
    assert set(mine["post"]["responses"]) == {"201", "401", "429", "503"}
    assert set(mine["get"]["responses"]) == {"200", "401", "404", "429", "503"}
    assert set(mine["delete"]["responses"]) == {"204", "401", "404", "429", "503"}
    assert "PCEM-Position" not in str(mine)  # no event written: nothing to wait for


def test_head_answers_the_validators_without_the_content(
    client: Client, auth: dict[str, str]
) -> None:
    path = make_feed(client, auth)
    fetched = client.get(path)

    checked = client.head(path)

    assert checked.status_code == 200 and checked.content == b""
    assert checked.headers["ETag"] == fetched.headers["ETag"]
    assert checked.headers["Content-Type"] == fetched.headers["Content-Type"]
    assert int(checked.headers["Content-Length"]) == len(fetched.content)
    unchanged = client.head(path, headers={"If-None-Match": fetched.headers["ETag"]})
    assert unchanged.status_code == 304
    assert client.head(path.replace("/calendar/", "/calendar/x")).status_code == 404
