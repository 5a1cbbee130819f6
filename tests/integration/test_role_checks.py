"""Every support and operator route: 401 without a token, 403 problem without the role."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import TokenFactory
from tests.integration.api_helpers import Client, bearer

Call = Callable[[Client, dict[str, str]], Any]

ROUTES: dict[str, tuple[str, Call]] = {
    "support history": (
        "support",
        lambda c, h: c.get(f"/api/v1/support/aggregates/{uuid.uuid4()}/history", headers=h),
    ),
    "list projections": ("operator", lambda c, h: c.get("/api/v1/admin/projections", headers=h)),
    "rebuild projection": (
        "operator",
        lambda c, h: c.post("/api/v1/admin/projections/nothing-here/rebuild", headers=h),
    ),
    "failed notifications": (
        "operator",
        lambda c, h: c.get("/api/v1/admin/notifications/failed", headers=h),
    ),
    "retry notification": (
        "operator",
        lambda c, h: c.post(f"/api/v1/admin/notifications/{uuid.uuid4()}/retry", headers=h),
    ),
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_without_a_token_the_route_is_401(client: Client, route: str) -> None:
    _, call = ROUTES[route]

    response = call(client, {})

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("roles", [(), ("support", "operator")], ids=["no role", "other role"])
@pytest.mark.parametrize("route", list(ROUTES))
def test_without_the_role_the_route_is_403_problem(
    client: Client, token_for: TokenFactory, route: str, roles: tuple[str, ...]
) -> None:
    needed, call = ROUTES[route]
    others = tuple(r for r in roles if r != needed)

    response = call(client, bearer(token_for(f"user-{uuid.uuid4()}", *others)))

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert needed in response.json()["detail"]


@pytest.mark.parametrize("route", list(ROUTES))
def test_with_the_role_the_route_is_not_refused(
    client: Client, token_for: TokenFactory, route: str
) -> None:
    needed, call = ROUTES[route]

    response = call(client, bearer(token_for(f"user-{uuid.uuid4()}", needed)))

    assert response.status_code not in (401, 403)
