"""Auth, unknown routes, methods, health and OpenAPI through the real app."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import jwt
import pytest
from litestar.testing import TestClient

from tests.conftest import JWT_SECRET, TokenFactory
from tests.integration.api_helpers import bearer

Client = TestClient[Any]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not.a.token",
        "Bearer "
        + jwt.encode({"sub": "a", "exp": int(time.time()) - 3600}, JWT_SECRET, algorithm="HS256"),
        "Bearer " + jwt.encode({"sub": "a"}, JWT_SECRET, algorithm="HS256"),
        # alg "none" takes the key None, which PyJWT's annotation of encode() leaves out
        "Bearer " + jwt.encode({"sub": "a", "exp": int(time.time()) + 60}, None, algorithm="none"),  # type: ignore[arg-type]
        "Bearer "
        + jwt.encode({"sub": "a", "exp": int(time.time()) + 60}, "x" * 40, algorithm="HS256"),
        # Signed, but no user id: PostgreSQL holds no NUL, UTF-8 no lone surrogate (were 500s)
        "Bearer "
        + jwt.encode({"sub": "a\x00", "exp": int(time.time()) + 60}, JWT_SECRET, algorithm="HS256"),
        "Bearer "
        + jwt.encode(
            {"sub": "\ud800", "exp": int(time.time()) + 60}, JWT_SECRET, algorithm="HS256"
        ),
    ],
    ids=[  # fixed names: the tokens change with the clock (and pytest-xdist compares ids)
        "none",
        "bare-bearer",
        "basic",
        "not-a-jwt",
        "expired",
        "no-exp",
        "alg-none",
        "other-secret",
        "nul-in-sub",
        "surrogate-in-sub",
    ],
)
def test_requests_without_a_valid_token_are_401_with_www_authenticate(
    client: Client, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get("/api/v1/people", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text


@pytest.mark.parametrize("other", ["\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0"])
def test_a_valid_token_with_other_characters_around_it_is_refused(
    client: Client, live_url: str, token_for: TokenFactory, other: str
) -> None:
    token = token_for("user-around")

    for sent in (token + other, other + token):
        authorization = f"Bearer {sent}".encode("latin-1")  # as the server decodes headers
        if other < "\x80":  # uvicorn refuses control characters itself (400)
            response = client.get("/api/v1/people", headers={b"Authorization": authorization})
        else:  # the test client would send NEL and NBSP as UTF-8; uvicorn passes the byte
            response = httpx.get(
                f"{live_url}/api/v1/people", headers={b"Authorization": authorization}
            )

        assert response.status_code == 401, repr(sent)


def test_spaces_and_tabs_around_a_token_are_allowed(
    client: Client, token_for: TokenFactory
) -> None:
    token = token_for("user-around")

    for sent in (f"  {token}", f"{token} \t", f"\t{token}"):
        response = client.get("/api/v1/people", headers={"Authorization": f"Bearer {sent}"})

        assert response.status_code == 200, repr(sent)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/people",
        "/api/v1/admin/projections",  # role-guarded: without a user, the guard was a 500
        "/api/v1/admin/projections/people/rebuild",
        "/api/v1/support/aggregates/6f0e8c1e-7d43-4a4b-9b7b-3a4f0b1f5d10/history",
    ],
)
def test_options_needs_a_token_like_every_other_method(
    client: Client, token_for: TokenFactory, path: str
) -> None:
    refused = client.options(path, headers={"Authorization": "Bearer not.a.token"})
    answered = client.options(
        path, headers=bearer(token_for("user-options", "support", "operator"))
    )

    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert answered.status_code == 204
    assert "OPTIONS" in answered.headers["allow"]


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/people", "GET, OPTIONS, POST"),
        ("/api/v1/people/6f0e8c1e-7d43-4a4b-9b7b-3a4f0b1f5d10", "DELETE, GET, OPTIONS, PATCH"),
        ("/api/v1/me/settings", "GET, OPTIONS, PUT"),
    ],
)
def test_options_allow_lists_every_method_of_the_resource(
    client: Client, auth: dict[str, str], path: str, methods: str
) -> None:
    # Litestar's own answer listed only the methods of one handler (POST, not GET)
    response = client.options(path, headers=auth)

    assert response.status_code == 204
    assert response.headers["allow"] == methods


def test_unknown_route_is_404_problem(client: Client, auth: dict[str, str]) -> None:
    response = client.get("/api/v1/nothing-here", headers=auth)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_unsupported_method_is_405_problem(client: Client, auth: dict[str, str]) -> None:
    response = client.put("/api/v1/people", json={}, headers=auth)

    assert response.status_code == 405
    assert response.json()["status"] == 405


def test_liveness_needs_no_token(client: Client) -> None:
    assert client.get("/health/live").status_code == 200


def test_readiness_reports_database_redis_and_projection_lag(client: Client) -> None:
    response = client.get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["redis"] == "ok"
    assert "lag" in body["projections"]["people_and_dates"]


def test_openapi_describes_the_people_endpoints(client: Client) -> None:
    schema = client.get("/schema/openapi.json").json()

    assert {"/api/v1/people", "/api/v1/people/{person_id}"} <= set(schema["paths"])
    assert client.get("/schema").status_code == 200


def test_the_docs_page_loads_only_pcem_files_and_they_need_no_token(client: Client) -> None:
    page = client.get("/schema")

    linked = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text)
    assert linked and all(url.startswith("/schema/assets/") for url in linked), linked
    for url in linked:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert "max-age" in asset.headers["cache-control"]
    documented = client.get("/schema/openapi.json").json()["paths"]
    assert not any(path.startswith("/schema") for path in documented)
