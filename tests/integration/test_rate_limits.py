"""Abuse limits, through real HTTP on real Redis: per user, per client address,
shared by replicas, exempt routes, and Redis stopped."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from typing import Any

import httpx
import pytest
import structlog
import uvicorn
from litestar.testing import TestClient

from pcem.api.app import create_app, proxy_options
from pcem.settings import Settings
from pcem.wiring import Container, build_container
from tests.conftest import TokenFactory, settings_for
from tests.polling import wait_until
from tests.private_servers import PrivateRedis

PER_USER, PER_ADDRESS = 5, 3
Client = TestClient[Any]


@pytest.fixture
def minute() -> float:
    """A moment of a minute no other test counts in (the limiters' clock is pinned to it)."""
    return random.randrange(30_000_000, 40_000_000) * 60 + 20.0


@pytest.fixture
def limited(settings: Settings, minute: float, projector: None) -> Iterator[Callable[..., Client]]:
    """Makes API replicas with low limits on the session's database and Redis."""
    made: list[tuple[Client, Container]] = []

    def replica(**extra: str) -> Client:
        container = low_limits_container(settings, settings.require_redis().url, minute, **extra)
        client = TestClient(create_app(container))
        made.append((client.__enter__(), container))
        return client

    yield replica
    for client, _ in made:
        client.__exit__(None, None, None)


def low_limits_container(
    settings: Settings, redis_url: str, minute: float, **extra: str
) -> Container:
    limits = {
        "PCEM_RATE_LIMIT_PER_MINUTE": str(PER_USER),
        "PCEM_RATE_LIMIT_ANON_PER_MINUTE": str(PER_ADDRESS),
        **extra,
    }
    container = build_container(settings_for(settings.require_database().url, redis_url, **limits))
    container.rate_limit_clock = lambda: minute
    return container


def bearer(token_for: TokenFactory, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}"}


def test_a_user_over_their_limit_is_told_429_and_when_to_retry(
    limited: Callable[..., Client], token_for: TokenFactory, user_id: str
) -> None:
    api = limited()
    auth = bearer(token_for, user_id)

    answered = [api.get("/api/v1/people", headers=auth) for _ in range(PER_USER)]
    refused = api.get("/api/v1/people", headers=auth, params={"q": "x"})

    assert [r.status_code for r in answered] == [200] * PER_USER
    assert [r.headers["RateLimit"] for r in answered] == [
        f'"user";r={left};t=40' for left in range(PER_USER - 1, -1, -1)
    ]
    assert answered[0].headers["RateLimit-Policy"] == f'"user";q={PER_USER};w=60'
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["Retry-After"] == "40"
    assert refused.headers["RateLimit"] == '"user";r=0;t=40'
    assert refused.json() == {
        "type": "/problems/too-many-requests",
        "title": "Too Many Requests",
        "status": 429,
        "detail": f"too many requests: at most {PER_USER} a minute for each user; "
        "try again in 40 s",
        "request_id": refused.headers["X-Request-ID"],
    }


def test_another_user_is_not_slowed_by_one_over_the_limit(
    limited: Callable[..., Client], token_for: TokenFactory, user_id: str
) -> None:
    api = limited()
    for _ in range(PER_USER + 2):
        api.get("/api/v1/people", headers=bearer(token_for, user_id))

    other = api.get("/api/v1/people", headers=bearer(token_for, f"{user_id}-other"))

    assert other.status_code == 200
    assert other.headers["RateLimit"] == f'"user";r={PER_USER - 1};t=40'


def test_replicas_share_each_users_count(
    limited: Callable[..., Client], token_for: TokenFactory, user_id: str
) -> None:
    first, second = limited(), limited()
    auth = bearer(token_for, user_id)

    statuses = [(first if n % 2 else second).get("/api/v1/people", headers=auth).status_code
                for n in range(PER_USER + 1)]  # fmt: skip

    assert statuses == [200] * PER_USER + [429]


def test_invalid_tokens_are_limited_per_client_address(
    limited: Callable[..., Client], token_for: TokenFactory, user_id: str
) -> None:
    api = limited()
    forged = {"Authorization": "Bearer not.a.token"}

    answered = [api.get("/api/v1/people", headers=forged) for _ in range(PER_ADDRESS)]
    missing = api.post("/api/v1/people", json={"first_name": "Ada"})
    valid = api.get("/api/v1/people", headers=bearer(token_for, user_id))

    assert [r.status_code for r in answered] == [401] * PER_ADDRESS
    assert answered[-1].headers["RateLimit"] == '"anonymous";r=0;t=40'
    assert missing.status_code == 429
    assert missing.headers["Retry-After"] == "40"
    assert missing.headers["RateLimit-Policy"] == f'"anonymous";q={PER_ADDRESS};w=60'
    assert "for each client address without a valid token" in missing.json()["detail"]
    assert valid.status_code == 200  # a user is counted as the user, not the address


def test_public_routes_are_never_limited(limited: Callable[..., Client]) -> None:
    api = limited()

    answers = [
        api.get(path)
        for path in ["/health/live", "/metrics", "/schema/openapi.json"] * (PER_ADDRESS + 1)
    ]

    assert {r.status_code for r in answers} == {200}
    assert not any("RateLimit" in r.headers for r in answers)


def test_a_new_minute_starts_a_new_count(
    settings: Settings, token_for: TokenFactory, user_id: str, minute: float, projector: None
) -> None:
    container = low_limits_container(settings, settings.require_redis().url, minute)
    now = [minute]
    container.rate_limit_clock = lambda: now[0]
    auth = bearer(token_for, user_id)
    with TestClient(create_app(container)) as api:
        for _ in range(PER_USER):
            api.get("/api/v1/people", headers=auth)
        now[0] = minute + 39.5
        last_second = api.get("/api/v1/people", headers=auth)
        now[0] = minute + 40.0
        next_minute = api.get("/api/v1/people", headers=auth)

    assert last_second.status_code == 429
    assert last_second.headers["Retry-After"] == "1"
    assert next_minute.status_code == 200
    assert next_minute.headers["RateLimit"] == f'"user";r={PER_USER - 1};t=60'


# Client addresses behind a proxy: served by uvicorn as `pcem api` serves


@contextmanager
def served(container: Container) -> Iterator[str]:
    app = create_app(container)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        **proxy_options(container.settings.rate_limits),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, "uvicorn to listen")
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def flood_from(url: str, forwarded_for: str) -> list[int]:
    headers = {"X-Forwarded-For": forwarded_for}
    with httpx.Client(base_url=url) as http:
        return [http.get("/api/v1/people", headers=headers).status_code for _ in range(2)]


def test_x_forwarded_for_is_not_trusted_by_default(
    settings: Settings, minute: float, projector: None
) -> None:
    container = low_limits_container(settings, settings.require_redis().url, minute)
    with served(container) as url:
        spoofed = [flood_from(url, f"198.51.100.{n}") for n in range(2)]

    assert spoofed == [[401, 401], [401, 429]]  # one address, whatever the header says


def test_addresses_a_trusted_proxy_forwards_are_counted_apart(
    settings: Settings, minute: float, projector: None
) -> None:
    container = low_limits_container(
        settings, settings.require_redis().url, minute, PCEM_TRUSTED_PROXIES="127.0.0.1"
    )
    with served(container) as url:
        by_address = [flood_from(url, f"198.51.100.{n}") for n in range(2)]

    assert by_address == [[401, 401], [401, 401]]


# Redis stopped


def test_requests_are_served_unlimited_while_redis_is_down(
    settings: Settings,
    token_for: TokenFactory,
    user_id: str,
    minute: float,
    projector: None,
) -> None:
    redis_server = PrivateRedis()
    container = low_limits_container(settings, redis_server.url, minute)
    auth = bearer(token_for, user_id)
    with (
        closing(redis_server),
        TestClient(create_app(container)) as api,
        captured_warnings() as warnings,
    ):
        before = api.post("/api/v1/people", json={"first_name": "Ada"}, headers=auth)
        redis_server.stop()
        created = [
            api.post("/api/v1/people", json={"first_name": f"Ada {n}"}, headers=auth)
            for n in range(PER_USER + 1)
        ]
        position = {"PCEM-Min-Position": created[-1].headers["PCEM-Position"]}
        read = api.get(created[-1].headers["Location"], headers={**auth, **position})

    assert before.headers["RateLimit"] == f'"user";r={PER_USER - 1};t=40'
    assert [r.status_code for r in created] == [201] * (PER_USER + 1)
    assert not any("RateLimit" in r.headers for r in created)
    assert read.status_code == 200
    assert [w["event"] for w in warnings if w["event"].startswith("rate_limit")] == [
        "rate_limit.unavailable"
    ]


@contextmanager
def captured_warnings() -> Iterator[list[structlog.typing.EventDict]]:
    capture: AbstractContextManager[list[structlog.typing.EventDict]] = (
        structlog.testing.capture_logs()
    )
    with capture as logs:
        yield logs
