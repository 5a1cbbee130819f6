"""Every error is a problem+json a user can act on and can quote to support."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from pcem.api.validation_wording import PATTERN_RULES
from tests.integration.api_helpers import FAILING, create_person

BIG_BODY = b'{"first_name": "' + b"a" * (64 * 1024) + b'"}'


ERRORS = [
    pytest.param("GET", "/api/v1/people", {}, 401, False, id="401 no token"),
    pytest.param("GET", "/api/v1/nothing-here", {}, 404, True, id="404 unknown route"),
    pytest.param("GET", "/nothing", {}, 404, False, id="404 outside the API"),
    pytest.param("GET", "/api/v1/people/not-a-uuid", {}, 404, True, id="404 not a uuid"),
    pytest.param("DELETE", "/api/v1/people", {}, 405, True, id="405"),
    pytest.param("POST", "/api/v1/people", {"content": BIG_BODY}, 413, True, id="413"),
    pytest.param("POST", "/api/v1/people", {"json": {"first_name": " "}}, 400, True, id="400"),
    pytest.param("GET", f"{FAILING}/crash", {}, 500, True, id="500"),
    pytest.param("GET", f"{FAILING}/redis-down", {}, 503, True, id="503"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "authenticated"), ERRORS)
def test_a_problem_carries_the_request_id_the_caller_sent(
    failing: TestClient[Any],
    auth: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
    authenticated: bool,
) -> None:
    headers = {**(auth if authenticated else {}), "X-Request-ID": "abc-123"}

    response = failing.request(method, path, headers=headers, **body)

    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["request_id"] == "abc-123"
    assert response.headers["x-request-id"] == "abc-123"


def test_a_problem_carries_the_request_id_made_up_for_it(failing: TestClient[Any]) -> None:
    response = failing.get("/api/v1/people")

    assert response.status_code == 401
    assert response.json()["request_id"] == response.headers["x-request-id"]


SETTINGS = "/api/v1/me/settings"
RELATIONSHIPS = "/api/v1/people/{person}/relationships"
NOBODY = "00000000-0000-0000-0000-000000000000"
VALID_EVENT = {"person_id": NOBODY, "title": "Birthday", "event_date": "1990-06-01"}
FRAGMENTS_OF_INTERNALS = ("^", "$", "\\x00", "[^", "Expected", "`", "'", "pigeon", "incoming")


def channel(**fields: Any) -> dict[str, Any]:
    return {"notifications": {"channels": [fields]}}


BAD_INPUT = [
    pytest.param(
        "POST", "/api/v1/people", {"json": {"first_name": "   "}},
        "first_name", "must contain a visible character, and no NUL", id="blank name",
    ),
    pytest.param(
        "POST", "/api/v1/people", {"json": {"first_name": "a\x00"}},
        "first_name", "must contain a visible character, and no NUL", id="NUL in name",
    ),
    pytest.param(
        "GET", "/api/v1/people?q=a%00", {},
        "q", "must not contain the NUL character", id="NUL in query",
    ),
    pytest.param(
        "POST", "/api/v1/people", {"json": {"first_name": 5}},
        "first_name", "must be a string, not an integer", id="wrong type",
    ),
    pytest.param(
        "POST", "/api/v1/people", {"json": {"first_name": "Ada", "firstname": "Ada"}},
        "firstname", "is not a known field; the fields are: first_name, last_name", id="typo",
    ),
    pytest.param(
        "POST", "/api/v1/people", {},
        "body", "a JSON body is required", id="empty body",
    ),
    pytest.param(
        "POST", "/api/v1/people", {"content": b'{"first_name": '},
        "body", "is not valid JSON", id="malformed JSON",
    ),
    pytest.param(
        "PUT", SETTINGS, {"json": channel(type="sms", phone="0151 123")},
        "notifications.channels[0].phone",
        "must be an E.164 phone number such as +4915112345678", id="phone",
    ),
    pytest.param(
        "PUT", SETTINGS, {"json": channel(type="email", address="ada")},
        "notifications.channels[0].address",
        "must be an email address such as a@example.org", id="email",
    ),
    pytest.param(
        "PUT", SETTINGS, {"json": channel(type="webhook", url="ftp://x", secret="s" * 16)},
        "notifications.channels[0].url", "must be an http:// or https:// URL", id="url",
    ),
    pytest.param(
        "PUT", SETTINGS, {"json": channel(type="webhook", url="https://x", secret="short")},
        "notifications.channels[0].secret", "must be 16 to 256 characters", id="secret",
    ),
    pytest.param(
        "PUT", SETTINGS, {"json": {"notifications": {"delivery_time": "9:00"}}},
        "notifications.delivery_time", "must be HH:MM, 00:00 to 23:59", id="delivery time",
    ),
    pytest.param(
        "PUT", SETTINGS, {"json": channel(type="pigeon")},
        "notifications.channels[0].type", "must be one of: email, sms, webhook, in_app",
        id="channel type",
    ),
    pytest.param(
        "PUT", SETTINGS, {"json": channel(phone="+4915112345678")},
        "notifications.channels[0]", "needs the field type (one of: email, sms, webhook",
        id="channel without type",
    ),
    pytest.param(
        "GET", RELATIONSHIPS + "?direction=incoming", {},
        "direction", "must be one of: out, in, both", id="direction",
    ),
    pytest.param(
        "POST", "/api/v1/events", {"json": {**VALID_EVENT, "recurrence": "daily"}},
        "recurrence", "must be one of: none, yearly, monthly, weekly", id="recurrence",
    ),
    pytest.param(
        "POST", "/api/v1/events", {"json": {**VALID_EVENT, "person_id": "ada"}},
        "person_id", "must be a UUID such as", id="uuid",
    ),
    pytest.param(
        "GET", "/api/v1/people?limit=0", {},
        "limit", "must be at least 1", id="limit",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "field", "words"), BAD_INPUT)
def test_invalid_input_is_explained_in_words(
    client: TestClient[Any],
    auth: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
    words: str,
) -> None:
    person = create_person(client, auth)

    response = client.request(method, path.format(person=person["id"]), headers=auth, **body)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert words in error["message"]
    assert not [f for f in FRAGMENTS_OF_INTERNALS if f in error["message"]], error["message"]


def test_every_pattern_in_the_schema_has_words(client: TestClient[Any]) -> None:
    schema = client.get("/schema/openapi.json").json()

    declared = set(patterns_in(schema))

    assert len(declared) >= 5
    rules = {rule.pattern for rule in PATTERN_RULES}
    assert declared <= rules, "a new pattern needs to be a TextRule in PATTERN_RULES"


def patterns_in(node: Any) -> Iterator[str]:
    """The patterns requests are checked against (answers' headers have some too)."""
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for key, value in node.items():
            if key != "responses":
                yield from patterns_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from patterns_in(value)
