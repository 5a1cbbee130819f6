"""What one value means: a single-valued query parameter given several times, and an
empty ``If-Match``, are 400s naming the parameter, not a silent choice."""

from __future__ import annotations

import pytest

from tests.integration.api_helpers import PEOPLE, Client, create_person

UPCOMING = "/api/v1/events/upcoming"


def _fields(response_json: dict[str, object]) -> list[object]:
    errors = response_json["errors"]
    assert isinstance(errors, list)
    return [error["field"] for error in errors]


def test_a_search_given_three_times_is_refused_not_narrowed_to_the_last(
    client: Client, auth: dict[str, str]
) -> None:
    create_person(client, auth, first_name="Carol")

    response = client.get(f"{PEOPLE}?q=ada&q=bob&q=carol", headers=auth)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == [
        {"field": "q", "message": "takes one value, and was given 3"}
    ]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"{PEOPLE}?limit=1&limit=2", "limit"),  # paging's, from a dependency
        (f"{UPCOMING}?from=2026-01-01T00:00:00Z&from=2026-02-01T00:00:00Z", "from"),  # an alias
        (f"{UPCOMING}?special_only=true&special_only=false", "special_only"),
        ("/api/v1/notifications?status=sent&status=failed", "status"),
    ],
)
def test_every_single_valued_parameter_is_refused_when_repeated(
    client: Client, auth: dict[str, str], url: str, field: str
) -> None:
    response = client.get(url, headers=auth)

    assert response.status_code == 400, response.text
    assert _fields(response.json()) == [field]


def test_a_list_parameter_repeats_and_an_unknown_one_is_ignored(
    client: Client, auth: dict[str, str]
) -> None:
    ada = create_person(client, auth, metadata={"school": "Hillside", "team": "red"})

    response = client.get(f"{PEOPLE}?has_key=school&has_key=team&x=1&x=2", headers=auth)

    assert response.status_code == 200, response.text
    assert [p["id"] for p in response.json()["items"]] == [ada["id"]]


def test_an_empty_if_match_is_malformed_and_changes_nothing(
    client: Client, auth: dict[str, str]
) -> None:
    ada = create_person(client, auth)
    url = f"{PEOPLE}/{ada['id']}"

    patched = client.patch(url, json={"last_name": "B"}, headers={**auth, "If-Match": ""})
    deleted = client.delete(url, headers={**auth, "If-Match": " "})

    assert patched.status_code == deleted.status_code == 400, patched.text
    assert _fields(patched.json()) == _fields(deleted.json()) == ["If-Match"]
    assert client.get(url, headers=auth).json()["version"] == 1
