"""The upcoming query and settings: local days, zones, DST, ranges, special events."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from pcem.projections.calendar_view import Between, Occurrence
from pcem.wiring import Container
from tests.conftest import TokenFactory
from tests.integration.api_helpers import Client, bearer, create_person, served

EVENTS = "/api/v1/events"
SETTINGS = "/api/v1/me/settings"


def settings_body(timezone: str, **notifications: Any) -> dict[str, Any]:
    return {
        "timezone": timezone,
        "notifications": {
            "enabled": True,
            "lead_time_days": [7, 1, 0],
            "delivery_time": "09:00",
            "channels": [{"type": "in_app"}],
            "digest": True,
            **notifications,
        },
    }


def add_event(client: Client, auth: dict[str, str], person_id: str, **body: Any) -> str:
    payload = {"person_id": person_id, "title": "Birthday", "event_date": "1990-06-01", **body}
    response = client.post(EVENTS, json=payload, headers=auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def upcoming(client: Client, auth: dict[str, str], **params: Any) -> Any:
    response = client.get(f"{EVENTS}/upcoming", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def frozen_user(user_id: str, token_for: TokenFactory) -> Any:
    """Call ``frozen_user(moment)`` inside ``freeze_time`` for a token valid at that moment."""
    return lambda: bearer(token_for(user_id))


def test_settings_default_until_replaced(client: Client, auth: dict[str, str]) -> None:
    assert client.get(SETTINGS, headers=auth).json() == settings_body("UTC")

    body = settings_body(
        "Europe/Berlin",
        lead_time_days=[3],
        delivery_time="07:30",
        channels=[
            {"type": "email", "address": "a@example.org"},
            {"type": "sms", "phone": "+4915112345678"},
            {"type": "webhook", "url": "https://hooks.example/pcem", "secret": "s" * 24},
            {"type": "in_app"},
        ],
    )
    replaced = client.put(SETTINGS, json=body, headers=auth)

    assert replaced.status_code == 200
    assert replaced.json() == body
    assert client.get(SETTINGS, headers=auth).json() == body


def test_settings_replaced_only_at_the_version_given_in_if_match(
    client: Client, auth: dict[str, str]
) -> None:
    defaults = client.get(SETTINGS, headers=auth)
    mine = client.put(
        SETTINGS,
        json=settings_body("Asia/Kathmandu"),
        headers={**auth, "If-Match": defaults.headers["ETag"]},
    )
    stale = client.put(
        SETTINGS,
        json=settings_body("Europe/Berlin"),
        headers={**auth, "If-Match": defaults.headers["ETag"]},
    )

    assert mine.status_code == 200
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert client.get(SETTINGS, headers=auth).json()["timezone"] == "Asia/Kathmandu"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"notifications": {"delivery_time": "25:00"}}, "notifications.delivery_time"),
        ({"notifications": {"lead_time_days": [400]}}, "notifications.lead_time_days"),
        ({"notifications": {"lead_time_days": list(range(11))}}, "notifications.lead_time_days"),
        ({"notifications": {"lead_time_days": [1, 1]}}, "notifications.lead_time_days"),
        ({"notifications": {"channels": [{"type": "pigeon"}]}}, "notifications.channels"),
        (
            {"notifications": {"channels": [{"type": "email", "address": "nope"}]}},
            "notifications.channels",
        ),
        (
            {"notifications": {"channels": [{"type": "sms", "phone": "12345"}]}},
            "notifications.channels",
        ),
        (
            {
                "notifications": {
                    "channels": [{"type": "webhook", "url": "ftp://x", "secret": "s" * 20}]
                }
            },
            "notifications.channels",
        ),
        ({"notifications": {"enabled": "yes"}}, "notifications.enabled"),
    ],
)
def test_bad_settings_are_400_naming_the_field(
    client: Client, auth: dict[str, str], change: dict[str, Any], field: str
) -> None:
    response = client.put(SETTINGS, json=change, headers=auth)

    assert response.status_code == 400, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f.startswith(field) for f in fields), fields
    assert client.get(SETTINGS, headers=auth).json()["timezone"] == "UTC"


def test_next_days_start_at_local_midnight_and_count_days_until(
    client: Client, auth: dict[str, str], frozen_user: Any
) -> None:
    ada = create_person(client, auth, first_name="Ada", last_name="Lovelace")
    client.put(SETTINGS, json=settings_body("Pacific/Kiritimati"), headers=auth)
    today = add_event(
        client, auth, ada["id"], title="Today", event_date="2000-03-10", recurrence="yearly"
    )
    later = add_event(
        client, auth, ada["id"], title="Day 29", event_date="2000-04-08", recurrence="yearly"
    )
    add_event(client, auth, ada["id"], title="Day 30", event_date="2000-04-09", recurrence="yearly")

    # 10:00 UTC on 9 March is already 00:00 on 10 March in Kiritimati (+14).
    with freeze_time("2027-03-09T10:00:00Z", tick=True):
        answer = upcoming(client, frozen_user())

    assert answer["timezone"] == "Pacific/Kiritimati"
    assert [(o["event_id"], o["local_date"], o["days_until"]) for o in answer["items"]] == [
        (today, "2027-03-10", 0),
        (later, "2027-04-08", 29),
    ]
    assert answer["items"][0]["occurs_at"] == "2027-03-09T10:00:00Z"
    assert answer["items"][0]["person_name"] == "Ada Lovelace"


@pytest.mark.parametrize(
    ("zone", "day", "midnight", "next_midnight"),
    [
        ("Pacific/Kiritimati", "03-10", "2027-03-09T10:00:00Z", "2027-03-10T10:00:00Z"),
        ("Pacific/Pago_Pago", "03-10", "2027-03-10T11:00:00Z", "2027-03-11T11:00:00Z"),
        ("Asia/Kathmandu", "03-10", "2027-03-09T18:15:00Z", "2027-03-10T18:15:00Z"),
        ("America/St_Johns", "03-10", "2027-03-10T03:30:00Z", "2027-03-11T03:30:00Z"),  # -3:30
        ("Australia/Lord_Howe", "03-10", "2027-03-09T13:00:00Z", "2027-03-10T13:00:00Z"),  # +11
        ("Europe/Berlin", "03-28", "2027-03-27T23:00:00Z", "2027-03-28T22:00:00Z"),  # 23 hours
        ("Europe/Berlin", "10-31", "2027-10-30T22:00:00Z", "2027-10-31T23:00:00Z"),  # 25 hours
    ],
)
def test_today_turns_at_local_midnight(
    client: Client,
    auth: dict[str, str],
    frozen_user: Any,
    zone: str,
    day: str,
    midnight: str,
    next_midnight: str,
) -> None:
    client.put(SETTINGS, json=settings_body(zone), headers=auth)
    ada = create_person(client, auth)
    today = date.fromisoformat(f"2027-{day}")
    eve, birthday, after = (
        add_event(client, auth, ada["id"], event_date=f"2000-{d:%m-%d}", recurrence="yearly")
        for d in (today - timedelta(days=1), today, today + timedelta(days=1))
    )
    turn = datetime.fromisoformat(midnight)
    upcoming(client, auth)  # the projection has caught up: no wait inside the frozen second

    with freeze_time(turn - timedelta(seconds=1), tick=True):
        before_midnight = upcoming(client, frozen_user(), days=2)
    with freeze_time(turn, tick=True):
        at_midnight = upcoming(client, frozen_user(), days=2)

    def seen(answer: Any) -> list[tuple[str, int]]:
        return [(o["event_id"], o["days_until"]) for o in answer["items"]]

    assert seen(before_midnight) == [(eve, 0), (birthday, 1)]
    assert seen(at_midnight) == [(birthday, 0), (after, 1)]
    assert [o["occurs_at"] for o in at_midnight["items"]] == [midnight, next_midnight]
    assert {o["local_date"] for o in at_midnight["items"]} == {
        f"{today}",
        f"{today + timedelta(days=1)}",
    }


def test_auckland_and_los_angeles_see_the_same_birthday_on_their_own_day(
    client: Client, token_for: TokenFactory
) -> None:
    answers = {}
    for zone in ("Pacific/Auckland", "America/Los_Angeles"):
        user = bearer(token_for(f"{zone}-{uuid.uuid4()}"))
        client.put(SETTINGS, json=settings_body(zone), headers=user)
        friend = create_person(client, user)
        add_event(
            client,
            user,
            friend["id"],
            event_date="1985-03-14",
            recurrence="yearly",
            is_special_event=True,
        )
        answers[zone] = upcoming(
            client, user, **{"from": "2027-03-01T00:00:00Z", "to": "2027-04-01T00:00:00Z"}
        )

    (auckland,), (los_angeles,) = (
        answers["Pacific/Auckland"]["items"],
        answers["America/Los_Angeles"]["items"],
    )
    assert auckland["local_date"] == los_angeles["local_date"] == "2027-03-14"
    assert auckland["occurs_at"] == "2027-03-13T11:00:00Z"
    assert los_angeles["occurs_at"] == "2027-03-14T08:00:00Z"


def test_a_new_time_zone_moves_every_all_day_occurrence_at_once(
    client: Client, auth: dict[str, str]
) -> None:
    ada = create_person(client, auth)
    for day in ("1990-06-01", "1991-07-15", "1992-12-31"):
        add_event(client, auth, ada["id"], event_date=day, recurrence="yearly")
    window = {"from": "2027-01-01T00:00:00Z", "to": "2027-12-31T00:00:00Z"}
    before = {o["local_date"]: o["occurs_at"] for o in upcoming(client, auth, **window)["items"]}

    client.put(SETTINGS, json=settings_body("Asia/Kathmandu"), headers=auth)
    after = {o["local_date"]: o["occurs_at"] for o in upcoming(client, auth, **window)["items"]}

    assert before == {"2027-06-01": "2027-06-01T00:00:00Z", "2027-07-15": "2027-07-15T00:00:00Z"}
    # 31 December now starts at 18:15 UTC on the 30th: inside the UTC range.
    assert after == {
        "2027-06-01": "2027-05-31T18:15:00Z",
        "2027-07-15": "2027-07-14T18:15:00Z",
        "2027-12-31": "2027-12-30T18:15:00Z",
    }


def test_weekly_event_lists_every_occurrence_and_special_only_filters(
    client: Client, auth: dict[str, str]
) -> None:
    ada = create_person(client, auth)
    weekly = add_event(
        client, auth, ada["id"], title="Run", event_date="2027-01-04T07:00:00Z", recurrence="weekly"
    )
    special = add_event(
        client, auth, ada["id"], event_date="1990-01-20", recurrence="yearly", is_special_event=True
    )
    window = {"from": "2027-01-01T00:00:00Z", "to": "2027-02-01T00:00:00Z"}

    everything = upcoming(client, auth, **window)["items"]
    only_special = upcoming(client, auth, special_only=True, **window)["items"]

    assert [o["local_date"] for o in everything if o["event_id"] == weekly] == [
        "2027-01-04",
        "2027-01-11",
        "2027-01-18",
        "2027-01-25",
    ]
    assert [o["occurs_at"] for o in everything] == sorted(o["occurs_at"] for o in everything)
    assert [o["event_id"] for o in only_special] == [special]


def test_ranges_far_from_today_are_answered_too(client: Client, auth: dict[str, str]) -> None:
    ada = create_person(client, auth)
    leap = add_event(client, auth, ada["id"], event_date="1904-02-29", recurrence="yearly")

    past = upcoming(client, auth, **{"from": "1905-01-01T00:00:00Z", "to": "1906-01-01T00:00:00Z"})
    future = upcoming(
        client, auth, **{"from": "2400-01-01T00:00:00Z", "to": "2400-12-31T00:00:00Z"}
    )

    assert [(o["event_id"], o["local_date"]) for o in past["items"]] == [(leap, "1905-02-28")]
    assert [o["local_date"] for o in future["items"]] == ["2400-02-29"]


def test_occurrences_say_whether_they_are_all_day(client: Client, auth: dict[str, str]) -> None:
    """A birthday starts at local midnight (23:00Z in Berlin's winter): only
    ``all_day`` tells it from a meeting at that time."""
    client.put(SETTINGS, json=settings_body("Europe/Berlin"), headers=auth)
    ada = create_person(client, auth)
    birthday = add_event(client, auth, ada["id"], event_date="2026-01-01", recurrence="weekly")
    meeting = add_event(
        client, auth, ada["id"], event_date="2026-01-01T00:00:00+01:00", recurrence="weekly"
    )
    beyond_the_horizon = {"from": "2100-01-01T00:00:00Z", "to": "2100-02-01T00:00:00Z"}

    for answer in (upcoming(client, auth), upcoming(client, auth, **beyond_the_horizon)):
        items = answer["items"]
        assert {(o["event_id"], o["all_day"]) for o in items} == {
            (birthday, True),
            (meeting, False),
        }
        assert len(items) >= 8
        assert all(o["all_day"] is (o["event_id"] == birthday) for o in items)


def test_materialised_occurrences_equal_computed_ones(
    client: Client, auth: dict[str, str], user_id: str, container: Container
) -> None:
    client.put(SETTINGS, json=settings_body("Australia/Lord_Howe"), headers=auth)
    ada = create_person(client, auth, first_name="Ada")
    for recurrence, day in [
        ("yearly", "2024-02-29"),
        ("monthly", "2026-01-31"),
        ("weekly", "2026-03-01"),
        ("none", "2026-12-24"),
        ("weekly", "2026-10-01T15:30:00+11:00"),
    ]:
        add_event(client, auth, ada["id"], event_date=day, recurrence=recurrence)
    client.patch(f"/api/v1/people/{ada['id']}", json={"first_name": "Augusta"}, headers=auth)
    upcoming(client, auth)  # waits for the projection
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    def answer(*, materialised: bool) -> list[Occurrence]:
        return served(
            container,
            lambda serving: serving.calendar_view.upcoming(
                user_id,
                Between(start, start + timedelta(days=366)),
                special_only=False,
                now=start,
                materialised=materialised,
            ),
        )[1]

    materialised, computed = answer(materialised=True), answer(materialised=False)

    assert len(materialised) > 60
    assert materialised == computed
    assert {o.all_day for o in materialised} == {True, False}
    assert {o.person_name for o in materialised} == {"Augusta"}


def test_an_answer_never_mixes_a_zone_change_committed_while_it_is_read(
    client: Client, auth: dict[str, str], user_id: str, container: Container
) -> None:
    ada = create_person(client, auth)
    add_event(client, auth, ada["id"], event_date="1990-06-01", recurrence="yearly")
    upcoming(client, auth)  # the projection has caught up
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    class WhileTheZoneChanges(Between):
        def window(self, zone: ZoneInfo, today: date) -> tuple[datetime, datetime]:
            # Resolved between the zone's read and the occurrences' read.
            client.put(SETTINGS, json=settings_body("Asia/Kathmandu"), headers=auth)
            upcoming(client, auth)  # the projection has moved every occurrence
            return super().window(zone, today)

    def answer(span: Between) -> tuple[ZoneInfo, list[Occurrence]]:
        return served(
            container,
            lambda serving: serving.calendar_view.upcoming(
                user_id, span, special_only=False, now=start
            ),
        )

    zone, items = answer(WhileTheZoneChanges(start, start + timedelta(days=366)))
    zone_now, items_now = answer(Between(start, start + timedelta(days=366)))

    assert (zone.key, [o.occurs_at.strftime("%H:%M") for o in items]) == ("UTC", ["00:00"])
    assert (zone_now.key, [o.occurs_at.strftime("%H:%M") for o in items_now]) == (
        "Asia/Kathmandu",
        ["18:15"],
    )


@pytest.mark.parametrize(
    ("zone", "other"),
    [("Pacific/Kiritimati", "Pacific/Pago_Pago"), ("Pacific/Pago_Pago", "Pacific/Kiritimati")],
)
def test_the_ends_of_the_calendar_are_answered_in_any_zone(
    client: Client, auth: dict[str, str], zone: str, other: str
) -> None:
    client.put(SETTINGS, json=settings_body(zone), headers=auth)
    ada = create_person(client, auth)
    early = add_event(client, auth, ada["id"], event_date="0002-06-15", recurrence="yearly")
    late = add_event(client, auth, ada["id"], event_date="9998-12-31", recurrence="yearly")
    moment = add_event(client, auth, ada["id"], event_date="9998-12-31T12:00:00Z")
    beyond = {**{"person_id": ada["id"], "title": "Too late"}, "event_date": "9999-01-01"}
    refused = client.post(EVENTS, json=beyond, headers=auth)
    first_year = {"from": "0002-01-01T00:00:00Z", "to": "0002-12-31T00:00:00Z"}
    last_year = {"from": "9998-01-01T00:00:00Z", "to": "9998-12-31T23:59:59Z"}

    def seen(window: dict[str, str]) -> dict[str, tuple[str, str]]:
        items = upcoming(client, auth, **window)["items"]
        return {o["event_id"]: (o["occurs_at"], o["local_date"]) for o in items}

    answers = seen(first_year), seen(last_year)
    client.put(SETTINGS, json=settings_body(other), headers=auth)  # every occurrence moves
    moved = seen(last_year)  # waits for the projection: it must not have failed

    assert refused.status_code == 400
    # Before 1901 both islands kept local mean time (Kiritimati -10:29:20, Pago Pago,
    # then on the Asian side of the date line, +12:37:12).
    expected = {
        "Pacific/Kiritimati": (
            {early: ("0002-06-15T10:29:20Z", "0002-06-15")},
            {
                early: ("9998-06-14T10:00:00Z", "9998-06-15"),
                late: ("9998-12-30T10:00:00Z", "9998-12-31"),
                moment: ("9998-12-31T12:00:00Z", "9999-01-01"),
            },
        ),
        "Pacific/Pago_Pago": (
            {early: ("0002-06-14T11:22:48Z", "0002-06-15")},
            {
                early: ("9998-06-15T11:00:00Z", "9998-06-15"),
                late: ("9998-12-31T11:00:00Z", "9998-12-31"),
                moment: ("9998-12-31T12:00:00Z", "9998-12-31"),
            },
        ),
    }
    assert answers == expected[zone]
    assert moved == expected[other][1]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days": 0}, "days"),
        ({"days": 367}, "days"),
        ({"days": "soon"}, "days"),
        ({"from": "2027-01-01T00:00:00Z"}, "from"),
        ({"to": "2027-01-01T00:00:00Z"}, "from"),
        ({"days": 5, "from": "2027-01-01T00:00:00Z", "to": "2027-01-02T00:00:00Z"}, "from"),
        ({"from": "2027-01-02T00:00:00Z", "to": "2027-01-01T00:00:00Z"}, "to"),
        ({"from": "2027-01-01T00:00:00Z", "to": "2028-01-03T00:00:00Z"}, "to"),
        ({"from": "2027-01-01", "to": "2027-02-01T00:00:00Z"}, "from"),
        ({"from": "0001-06-01T00:00:00Z", "to": "0001-07-01T00:00:00Z"}, "from"),
        ({"from": "0001-01-01T00:00:00+05:00", "to": "0001-02-01T00:00:00Z"}, "from"),
        ({"from": "9998-12-31T00:00:00Z", "to": "9999-01-02T00:00:00Z"}, "to"),
        ({"special_only": "maybe"}, "special_only"),
    ],
)
def test_bad_upcoming_parameters_are_400(
    client: Client, auth: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = client.get(f"{EVENTS}/upcoming", params=params, headers=auth)

    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
