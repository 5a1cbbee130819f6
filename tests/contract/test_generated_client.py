"""A client generated from /schema/openapi.json, as a user would make one.

openapi-python-client, with its default configuration, generates a client from the
document the live API serves (once per session); the tests then use the API only
through the client's typed functions and models, as its users would. The document
itself passes openapi-spec-validator and names its schemas as plain identifiers.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from pcem.wiring import Container
from tests.conftest import TokenFactory
from tests.integration.ledger_helpers import Ledger

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "pcem_client"  # the generator's name for a document titled "PCEM"
# openapi-python-client generates request bodies of JSON, forms and octet streams only.
# An import's body is the file itself, in its own media type (API.md: text/vcard or
# text/csv), so the generator leaves that one operation out, and says so.
IMPORT_LEFT_OUT = [
    "WARNING parsing POST /api/v1/imports within imports. Endpoint will not be generated.",
    *(
        f"Unsupported content type {media_type}"
        for media_type in ("text/vcard", "text/x-vcard", "text/directory", "text/csv")
    ),
]


@dataclass(frozen=True)
class Generated:
    document: dict[str, Any]
    returncode: int
    output: str


@pytest.fixture(scope="session")
def generated(live_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    document = httpx.get(f"{live_url}/schema/openapi.json").json()
    folder = tmp_path_factory.mktemp("generated")
    (folder / "openapi.json").write_text(json.dumps(document))
    run = subprocess.run(
        [GENERATOR, "generate", "--path", "openapi.json", "--output-path", "client"],
        cwd=folder,
        # Its post-generation hook formats the code with ruff, from the same venv.
        env={**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    sys.path.insert(0, str(folder / "client"))
    yield Generated(document, run.returncode, run.stdout + run.stderr)
    sys.path.remove(str(folder / "client"))


@pytest.fixture
def api(generated: Generated, live_url: str, token_for: TokenFactory, user_id: str) -> Api:
    assert generated.returncode == 0, generated.output
    client_module = importlib.import_module(PACKAGE)
    client = client_module.AuthenticatedClient(base_url=live_url, token=token_for(user_id))
    return Api(client)


class Api:
    """The generated client's operations and models, looked up by name."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.models: Any = importlib.import_module(f"{PACKAGE}.models")

    def call(self, tag: str, operation: str, *args: Any, **kwargs: Any) -> Any:
        """``sync_detailed`` of an operation: its status, headers and parsed answer."""
        module: Any = importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")
        return module.sync_detailed(*args, client=self.client, **kwargs)


def test_the_generator_takes_the_document_with_its_default_settings(
    generated: Generated,
) -> None:
    lines = [line.strip() for line in generated.output.splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.startswith("Warning(s) encountered"))
    reported = [line for line in lines[start + 1 :] if not line.startswith("If you believe")]

    assert generated.returncode == 0, generated.output
    assert reported == IMPORT_LEFT_OUT, generated.output


def test_the_document_is_valid_openapi(generated: Generated) -> None:
    errors = [error.message for error in OpenAPIV31SpecValidator(generated.document).iter_errors()]

    assert errors == []


def test_every_schema_has_a_plain_name(generated: Generated) -> None:
    names = generated.document["components"]["schemas"]

    assert [name for name in names if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name)] == []
    assert "PersonPage" in names


def test_people_found_by_meta_and_has_key_changed_under_if_match_created_once(
    api: Api,
) -> None:
    m = api.models
    key = str(uuid.uuid4())
    ada_body = m.CreatePerson(
        first_name="Ada",
        last_name="Lovelace",
        metadata=m.Metadata.from_dict({"school": "Hillside", "languages": ["en", "fr"]}),
    )
    created = api.call("people", "create_person", body=ada_body, idempotency_key=key)
    replayed = api.call("people", "create_person", body=ada_body, idempotency_key=key)
    reused = api.call(
        "people", "create_person", body=m.CreatePerson(first_name="Eve"), idempotency_key=key
    )
    bob_body = m.CreatePerson(first_name="Bob", metadata=m.Metadata.from_dict({"school": "Elm"}))
    api.call("people", "create_person", body=bob_body)
    ada = created.parsed

    assert (created.status_code, replayed.status_code, replayed.parsed.id) == (201, 201, ada.id)
    assert reused.status_code == 422 and isinstance(reused.parsed, m.Problem)
    by_meta = api.call("people", "list_people", meta=json.dumps({"school": "Hillside"})).parsed
    assert [person.id for person in by_meta.items] == [ada.id]
    by_key = api.call("people", "list_people", has_key=["languages"]).parsed
    assert [person.id for person in by_key.items] == [ada.id]

    # a change at the version read, then one at that same (now stale) version
    etag = created.headers["ETag"]
    patch = m.UpdatePerson(last_name="King", metadata=m.Metadata.from_dict({"languages": None}))
    changed = api.call("people", "update_person", ada.id, body=patch, if_match=etag)
    stale = api.call(
        "people", "update_person", ada.id, body=m.UpdatePerson(last_name="X"), if_match=etag
    )

    assert changed.status_code == 200, changed.content
    assert (changed.parsed.last_name, changed.parsed.metadata.to_dict()) == (
        "King",
        {"school": "Hillside"},
    )
    assert stale.status_code == 412 and stale.parsed.status == 412
    assert api.call("people", "get_person", ada.id).parsed.last_name == "King"


def test_events_by_date_and_instant_and_upcoming_in_a_utc_range(api: Api) -> None:
    m = api.models
    person = api.call("people", "create_person", body=m.CreatePerson(first_name="Ada")).parsed
    birthday = (datetime.now(UTC) + timedelta(days=10)).date().replace(year=1990)
    meeting = datetime(2031, 5, 6, 10, 30, tzinfo=UTC)

    all_day = api.call(
        "events",
        "create_event",
        body=m.CreateEvent(
            person_id=person.id,
            title="Birthday",
            event_date=birthday,
            is_special_event=True,
            recurrence=m.CreateEventRecurrence.YEARLY,
        ),
    )
    timed = api.call(
        "events",
        "create_event",
        body=m.CreateEvent(person_id=person.id, title="Lunch", event_date=meeting),
    )

    assert all_day.status_code == timed.status_code == 201, all_day.content
    assert (all_day.parsed.event_date, all_day.parsed.all_day) == (birthday, True)
    assert (timed.parsed.event_date, timed.parsed.all_day) == (meeting, False)
    start = datetime.now(UTC).replace(microsecond=0)
    upcoming = api.call(
        "events", "upcoming_events", from_=start, to=start + timedelta(days=30)
    ).parsed
    [occurrence] = upcoming.items
    assert (occurrence.title, occurrence.local_date.replace(year=1990)) == ("Birthday", birthday)
    assert occurrence.local_date > start.date()


def test_settings_replaced_under_if_match_then_read_back_and_used(api: Api) -> None:
    m = api.models
    settings = m.SettingsBody(
        timezone="Europe/Berlin",
        notifications=m.NotificationSettings(
            enabled=True,
            lead_time_days=[1, 0],
            delivery_time="08:30",
            channels=[m.EmailChannel(address="ada@example.org", type_="email")],
        ),
    )
    current = api.call("settings", "get_settings")

    replaced = api.call(
        "settings", "replace_settings", body=settings, if_match=current.headers["ETag"]
    )
    unknown_zone = api.call(
        "settings", "replace_settings", body=m.SettingsBody(timezone="Mars/Olympus")
    )

    assert replaced.status_code == 200, replaced.content
    assert unknown_zone.status_code == 400
    assert [e.field for e in unknown_zone.parsed.errors] == ["timezone"]
    read = api.call("settings", "get_settings").parsed
    assert read.to_dict() == settings.to_dict()
    assert api.call("events", "upcoming_events", days=7).parsed.timezone == "Europe/Berlin"


def test_an_in_app_notification_listed_opened_and_read(
    api: Api, container: Container, user_id: str
) -> None:
    m = api.models
    person = api.call("people", "create_person", body=m.CreatePerson(first_name="Ada")).parsed
    # as the process manager leaves one it sent (delivery has tests of its own)
    sent = Ledger(container.engine).add(user_id, person_id=person.id, occurrence_date=date.today())

    listed = api.call(
        "notifications",
        "list_notifications",
        status=m.ListNotificationsStatusType0.SENT,
        channel=m.ListNotificationsChannelType0.IN_APP,
    ).parsed
    detail = api.call("notifications", "get_notification", sent).parsed
    read = api.call("notifications", "read_notification", sent).parsed

    assert [n.id for n in listed.items] == [sent]
    assert (detail.person_id, detail.status, detail.read_at) == (person.id, "sent", None)
    assert isinstance(read.read_at, datetime)
    assert api.call("notifications", "get_notification", sent).parsed.read_at == read.read_at
