"""`/api/v1/admin/projections`: status for operators, and rebuilds on request."""

from __future__ import annotations

import pytest

from tests.conftest import TokenFactory
from tests.integration.api_helpers import Client, bearer, create_person
from tests.polling import wait_until

ADMIN = "/api/v1/admin/projections"


@pytest.fixture
def operator(token_for: TokenFactory) -> dict[str, str]:
    return bearer(token_for("ops", "operator"))


def projections(client: Client, operator: dict[str, str]) -> dict[str, dict[str, object]]:
    response = client.get(ADMIN, headers=operator)
    assert response.status_code == 200
    return {p["name"]: p for p in response.json()}


def test_operators_see_position_head_lag_and_state_of_each_projection(
    client: Client, auth: dict[str, str], operator: dict[str, str]
) -> None:
    create_person(client, auth)

    people = projections(client, operator)["people_and_dates"]

    assert {"name", "position", "head", "lag", "state"} <= set(people)
    assert people["lag"] == people["head"] - people["position"] >= 0  # type: ignore[operator]
    assert people["state"] == "running"
    assert str(people["runner"]).startswith("pcem projector ")


def test_rebuilding_an_unknown_projection_is_404_problem(
    client: Client, operator: dict[str, str]
) -> None:
    response = client.post(f"{ADMIN}/nothing-here/rebuild", headers=operator)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_requested_rebuild_is_accepted_then_done_by_the_projector(
    client: Client, auth: dict[str, str], operator: dict[str, str]
) -> None:
    ada = create_person(client, auth, first_name="Ada", metadata={"book": "Dune"})

    response = client.post(f"{ADMIN}/people_and_dates/rebuild", headers=operator)

    assert response.status_code == 202
    assert response.json()["name"] in ("people_and_dates@rebuild", "people_and_dates")
    wait_until(
        lambda: "people_and_dates@rebuild" not in projections(client, operator), 60, "the rebuild"
    )
    again = client.get(f"/api/v1/people/{ada['id']}", headers=auth)
    assert again.status_code == 200 and again.json() == ada


def test_the_former_name_people_still_requests_the_rebuild_of_people_and_dates(
    client: Client, auth: dict[str, str], operator: dict[str, str]
) -> None:
    create_person(client, auth)

    response = client.post(f"{ADMIN}/people/rebuild", headers=operator)

    assert response.status_code == 202
    assert response.json()["name"] in ("people_and_dates@rebuild", "people_and_dates")
    assert "people" not in projections(client, operator)  # no second projection appears
