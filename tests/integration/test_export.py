"""``GET /me/export``: the JSON with everything and every history, the vCard of the live
people, the iCalendar of the live events; as Accept asks, for the caller only."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import icalendar
import msgspec
import pytest
import vobject

from pcem.wiring import Container
from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client, bearer, create_person
from tests.integration.export_helpers import (
    SECRET,
    an_account,
    event_path,
    export,
    exported,
    history,
)
from tests.integration.feed_helpers import make_feed
from tests.integration.ledger_helpers import Ledger, now

PROBLEM = "application/problem+json"
TODAY = r"\d{4}-\d{2}-\d{2}"


def test_the_json_export_holds_everything_with_every_history(
    client: Client, auth: dict[str, str], user_id: str
) -> None:
    account = an_account(client, auth)

    document = exported(client, auth)

    assert (document.format, document.version, document.user_id) == ("pcem-export", 1, user_id)
    people = {str(p.id): p for p in document.people}
    assert set(people) == {account.ada["id"], account.bob["id"], account.cy["id"]}
    assert people[account.cy["id"]].deleted_at is not None  # deleted people too
    assert people[account.ada["id"]].last_name == "King"
    for person_id, person in people.items():
        assert msgspec.to_builtins(person.history) == history(client, auth, f"{PEOPLE}/{person_id}")
    events = {str(e.id): e for e in document.events}
    assert set(events) == {account.birthday, account.call, account.cy_event}
    assert events[account.cy_event].hidden  # with its deleted person
    for event_id, event in events.items():
        assert msgspec.to_builtins(event.history) == history(client, auth, event_path(event_id))
    types = {(str(r.source_id), str(r.target_id), r.type) for r in document.relationships}
    assert types == {
        (account.ada["id"], account.bob["id"], "spouse"),
        (account.ada["id"], account.cy["id"], "friend"),
    }


def test_notifications_come_with_their_attempt_logs_also_of_deleted_people(
    client: Client, auth: dict[str, str], user_id: str, container: Container
) -> None:
    ledger = Ledger(container.engine)
    account = an_account(client, auth)
    earlier, later = now() - timedelta(days=2), now() - timedelta(days=1)
    failed = ledger.add(user_id, due_at=earlier, status="failed", channel="webhook")
    ledger.attempt(failed, 1, earlier, "retry", "HTTP 503")
    ledger.attempt(failed, 2, earlier + timedelta(minutes=1), "failed", "HTTP 503")
    of_cy = ledger.add(user_id, due_at=later, person_id=uuid.UUID(account.cy["id"]))
    ledger.add(f"other-{uuid.uuid4()}", due_at=later)  # not the caller's

    notifications = exported(client, auth).notifications

    assert [n.id for n in notifications] == [of_cy, failed]  # newest due_at first
    log = notifications[1].attempt_log
    assert [(a.outcome, a.error) for a in log] == [("retry", "HTTP 503"), ("failed", "HTTP 503")]
    assert notifications[0].attempt_log == []


def test_channel_secrets_are_redacted_in_settings_and_their_history(
    client: Client, auth: dict[str, str]
) -> None:
    an_account(client, auth)

    response = export(client, auth)
    document = exported(client, auth)

    assert SECRET not in response.text
    [channel] = document.settings.notifications["channels"]
    assert channel == {"type": "webhook", "url": "https://hooks.example/x", "secret": "[redacted]"}
    assert document.settings.timezone == "Europe/London"
    assert [e.type for e in document.settings.history] == ["SettingsCreated", "SettingsChanged"]
    assert document.settings.version == 2
    changed = document.settings.history[-1]
    assert changed.changes["settings"]["notifications"]["channels"][0]["secret"] == "[redacted]"


def test_an_empty_account_exports_its_default_settings_and_nothing_else(
    client: Client, auth: dict[str, str], user_id: str
) -> None:
    document = exported(client, auth)

    assert document.settings.version == 0 and document.settings.history == []
    assert document.settings.notifications["channels"] == [{"type": "in_app"}]
    assert [document.people, document.events, document.notifications] == [[], [], []]
    assert export(client, auth, "text/vcard").content == b""
    assert icalendar.Calendar.from_ical(export(client, auth, "text/calendar").content)


def test_the_vcard_export_is_one_parsable_card_per_live_person(
    client: Client, auth: dict[str, str]
) -> None:
    account = an_account(client, auth)

    response = export(client, auth, "text/vcard")

    assert response.headers["content-type"] == "text/vcard; charset=utf-8"
    cards = {c.uid.value: c for c in vobject.readComponents(response.text)}
    assert set(cards) == {f"urn:uuid:{account.ada['id']}", f"urn:uuid:{account.bob['id']}"}
    ada = cards[f"urn:uuid:{account.ada['id']}"]
    assert ada.fn.value == "Ada King"
    assert ada.bday.value == "--1210"  # kept without a year
    assert ada.email.value == "ada@example.org" and ada.email.params["TYPE"] == ["work"]
    assert ada.x_phonetic_first_name.value == "AY-da"
    # The spouse, not the friend who is deleted.
    assert [r.value for r in ada.contents["related"]] == [f"urn:uuid:{account.bob['id']}"]
    assert all(len(line) <= 75 for line in response.content.split(b"\r\n"))


def test_the_icalendar_export_is_the_calendar_feed(client: Client, auth: dict[str, str]) -> None:
    account = an_account(client, auth)

    response = export(client, auth, "text/calendar")

    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.content == client.get(make_feed(client, auth)).content
    uids = [str(e["UID"]) for e in icalendar.Calendar.from_ical(response.content).walk("VEVENT")]
    assert uids == [f"{account.birthday}@pcem", f"{account.call}@pcem"]  # not the hidden one


@pytest.mark.parametrize(
    ("accept", "media_type", "extension"),
    [
        (None, "application/json", "json"),
        ("*/*", "application/json", "json"),
        ("application/*", "application/json", "json"),
        ("text/html, */*;q=0.8", "application/json", "json"),  # a browser's
        ("text/vcard", "text/vcard; charset=utf-8", "vcf"),
        ("text/*", "text/vcard; charset=utf-8", "vcf"),  # both are text: the people
        ("text/calendar", "text/calendar; charset=utf-8", "ics"),
        ("text/vcard;q=0.5, text/calendar", "text/calendar; charset=utf-8", "ics"),
        ("*/*;q=0.1, text/calendar;q=0.2", "text/calendar; charset=utf-8", "ics"),
        ("text/*, text/vcard;q=0", "text/calendar; charset=utf-8", "ics"),
    ],
)
def test_accept_chooses_the_format_and_its_file_name(
    client: Client, auth: dict[str, str], accept: str | None, media_type: str, extension: str
) -> None:
    response = export(client, auth, accept)

    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(rf'attachment; filename="pcem-export-{TODAY}\.{extension}"', disposition)
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "accept", ["application/xml", "text/vcard;q=0, application/json;q=0, text/calendar;q=0", "x"]
)
def test_another_accept_is_a_406_problem(client: Client, auth: dict[str, str], accept: str) -> None:
    response = export(client, auth, accept)

    assert response.status_code == 406
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"].endswith("application/json, text/vcard, text/calendar")


def test_no_export_holds_anything_of_another_user(
    client: Client, auth: dict[str, str], token_for: TokenFactory
) -> None:
    other_user = f"other-{uuid.uuid4()}"
    other = bearer(token_for(other_user))
    theirs = an_account(client, other, name="Zed")
    create_person(client, auth, first_name="Mine")

    for accept in ("application/json", "text/vcard", "text/calendar"):
        text = export(client, auth, accept).text
        assert other_user not in text
        assert "Zed" not in text
        for record in (theirs.ada["id"], theirs.bob["id"], theirs.birthday, theirs.call):
            assert record not in text
