"""Every error is a problem+json a user can act on and can quote to support."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from litestar import Controller, get
from litestar.testing import TestClient

from pcem.api.app import create_app
from pcem.wiring import Container

FAILING = "/api/v1/test-failures"
BIG_BODY = b'{"first_name": "' + b"a" * (64 * 1024) + b'"}'


class FailingController(Controller):
    """Routes that fail on purpose: the real ones must not."""

    path = FAILING

    @get("/crash", sync_to_thread=False)
    def crash(self) -> None:
        raise RuntimeError("a bug")

    @get("/redis-down", sync_to_thread=False)
    def redis_down(self) -> None:
        raise redis.ConnectionError("connection refused")


@pytest.fixture(scope="module")
def failing(container: Container, projector: None) -> Iterator[TestClient[Any]]:
    """The API plus the failing routes, under the same conventions."""
    app = create_app(container, extra_routes=[FailingController])
    app.on_shutdown.clear()  # the session's container outlives this client
    with TestClient(app) as client:
        yield client


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
