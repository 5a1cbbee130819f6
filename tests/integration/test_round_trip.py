"""The vCard export of an account imported into an empty one gives it back: the same
people, metadata, birthdays (year-less ones too, and 29 February), anniversaries and
relationships; and imported into the same account, it changes nothing."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from pcem.wiring import Container
from tests.integration.api_helpers import create_person, relate
from tests.integration.export_helpers import export
from tests.integration.feed_helpers import add_event
from tests.integration.import_helpers import PEOPLE, caught_up, counts, imported, people

Client = TestClient[Any]
RANGE = {"from": "2027-03-01T00:00:00Z", "to": "2028-03-01T00:00:00Z"}  # 29 Feb 2028 in it


def an_address_book(client: Client, auth: dict[str, str]) -> None:
    metadata = {
        "emails": [{"value": "ada@example.org", "label": "home"}, {"value": "ada@work.example"}],
        "phones": [{"value": "+44 20 7946 0000", "label": "cell"}],
        "addresses": [{"street": "12 St James's Square", "locality": "London", "label": "home"}],
        "organization": "Analytical Engines",
        "note": "Line one,\nline two; with ; and , and \\",
        "favorite_book": "Sketch of the Analytical Engine",
        "kids": [{"name": "Byron", "born": 1836}, {"name": "Annabella"}],
        "vip": True,
        "score": 9.5,
    }
    ada = create_person(client, auth, first_name="Ada", last_name="Lovelace",
                        primary_contact="ada@example.org", metadata=metadata)  # fmt: skip
    william = create_person(client, auth, first_name="William", last_name="King")
    leap = create_person(client, auth, first_name="Leap", last_name="Day", metadata={"ü": "ß"})
    assert relate(client, auth, ada["id"], william["id"], "spouse").status_code == 201
    assert relate(client, auth, william["id"], ada["id"], "spouse").status_code == 201
    assert relate(client, auth, leap["id"], ada["id"], "friend").status_code == 201
    yearly = {"recurrence": "yearly", "is_special_event": True}
    add_event(client, auth, ada["id"], event_date="1604-12-10", **yearly)  # no year
    add_event(client, auth, william["id"], event_date="1805-02-21", **yearly)
    add_event(client, auth, william["id"], title="Anniversary", event_date="1835-07-08", **yearly)
    add_event(client, auth, leap["id"], event_date="2000-02-29", **yearly)


def as_given(client: Client, container: Container, auth: dict[str, str]) -> dict[str, Any]:
    """The account as a user sees it, without ids: people, their relationships by name,
    their dates over a year."""
    found = people(client, container, auth)
    names = {p["id"]: f"{p['first_name']} {p['last_name']}" for p in found}
    headers = caught_up(container, auth)
    relationships = {
        (names[p["id"]], names[r["target_id"]], r["type"])
        for p in found
        for r in client.get(f"{PEOPLE}/{p['id']}/relationships", headers=headers).json()["items"]
    }
    upcoming = client.get("/api/v1/events/upcoming", params=RANGE, headers=headers).json()
    dates = sorted((o["person_name"], o["title"], o["local_date"]) for o in upcoming["items"])
    fields = ("first_name", "last_name", "primary_contact", "metadata")
    return {
        "people": sorted(([p[f] for f in fields] for p in found), key=str),
        "relationships": relationships,
        "dates": dates,
        "event_dates": sorted(
            e["event_date"]
            for e in client.get("/api/v1/events", params={"limit": 200}, headers=headers).json()[
                "items"
            ]
        ),
    }


def test_an_export_imported_into_an_empty_account_gives_it_back(
    client: Client, container: Container, auth: dict[str, str], token_for: Any
) -> None:
    an_address_book(client, auth)
    vcards = export(client, auth, "text/vcard")
    assert vcards.status_code == 200, vcards.text
    empty = {"Authorization": f"Bearer {token_for('a-new-account')}"}

    done = imported(client, container, empty, vcards.content)

    assert counts(done)["created"] == 3 and done["problems"] == []
    original = as_given(client, container, auth)
    assert as_given(client, container, empty) == original
    assert "1604-12-10" in original["event_dates"]  # still without a year


def test_an_export_imported_into_its_own_account_changes_nothing(
    client: Client, container: Container, auth: dict[str, str]
) -> None:
    an_address_book(client, auth)
    before = as_given(client, container, auth)
    head = container.people.recorder.max_notification_id()

    done = imported(client, container, auth, export(client, auth, "text/vcard").content)

    assert (done["unchanged"], done["created"], done["updated"]) == (3, 0, 0)
    assert container.people.recorder.max_notification_id() == head
    assert as_given(client, container, auth) == before
