"""Another user's ids on every People route answer 404 and change nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import TokenFactory
from tests.integration.api_helpers import PEOPLE, Client, bearer, create_person, relate

Call = Callable[[Client, dict[str, str], dict[str, str]], Any]

ROUTES: dict[str, Call] = {
    "get": lambda c, h, ids: c.get(f"{PEOPLE}/{ids['ada']}", headers=h),
    "get as_of": lambda c, h, ids: c.get(
        f"{PEOPLE}/{ids['ada']}", params={"as_of": "2100-01-01T00:00:00Z"}, headers=h
    ),
    "patch": lambda c, h, ids: c.patch(
        f"{PEOPLE}/{ids['ada']}", json={"first_name": "Mallory"}, headers=h
    ),
    "delete": lambda c, h, ids: c.delete(f"{PEOPLE}/{ids['ada']}", headers=h),
    "restore": lambda c, h, ids: c.post(f"{PEOPLE}/{ids['ada']}/restore", headers=h),
    "history": lambda c, h, ids: c.get(f"{PEOPLE}/{ids['ada']}/history", headers=h),
    "history version": lambda c, h, ids: c.get(f"{PEOPLE}/{ids['ada']}/history/1", headers=h),
    "list relationships": lambda c, h, ids: c.get(
        f"{PEOPLE}/{ids['ada']}/relationships", headers=h
    ),
    "relate from theirs": lambda c, h, ids: relate(c, h, ids["ada"], ids["mine"], "friend"),
    "relate to theirs": lambda c, h, ids: relate(c, h, ids["mine"], ids["ada"], "friend"),
    "remove relationship": lambda c, h, ids: c.delete(
        f"{PEOPLE}/{ids['ada']}/relationships/{ids['rel']}", headers=h
    ),
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_other_users_records_are_404_and_untouched(
    client: Client, auth: dict[str, str], token_for: TokenFactory, route: str
) -> None:
    ada, bob = create_person(client, auth), create_person(client, auth)
    rel = relate(client, auth, ada["id"], bob["id"], "friend").json()
    intruder = bearer(token_for(f"intruder-{uuid.uuid4()}"))
    ids = {"ada": ada["id"], "rel": rel["id"], "mine": create_person(client, intruder)["id"]}
    before = client.get(f"{PEOPLE}/{ada['id']}/history", headers=auth).json()

    response = ROUTES[route](client, intruder, ids)

    assert response.status_code == 404, response.text
    assert client.get(f"{PEOPLE}/{ada['id']}/history", headers=auth).json() == before
    assert (
        client.get(f"{PEOPLE}/{ids['mine']}/relationships", headers=intruder).json()["items"] == []
    )
