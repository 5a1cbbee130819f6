"""Small helpers for talking to the API in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import redis
from litestar import Controller, get
from litestar.testing import TestClient

from pcem.wiring import Container, Serving

PEOPLE = "/api/v1/people"
FAILING = "/api/v1/test-failures"
Client = TestClient[Any]
T = TypeVar("T")


def create_person(client: httpx.Client, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(PEOPLE, json={"first_name": "Ada", **body}, headers=auth)
    assert response.status_code == 201, response.text
    return dict(response.json())


def relate(
    client: httpx.Client, auth: dict[str, str], source: str, target: str, type: str
) -> httpx.Response:
    return client.post(
        f"{PEOPLE}/{source}/relationships", json={"target_id": target, "type": type}, headers=auth
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def served(container: Container, read: Callable[[Serving], Awaitable[T]]) -> T:
    """``read`` run on the API's event-loop parts (the views), as a test calls a view:
    on a ``Container.serving()`` of its own, in an event loop of its own."""

    async def run() -> T:
        async with container.serving() as serving:
            return await read(serving)

    return asyncio.run(run())


class FailingController(Controller):
    """Routes that fail on purpose (the real ones must not): the ``failing`` client."""

    path = FAILING

    @get("/crash", sync_to_thread=False)
    def crash(self) -> None:
        raise RuntimeError("a bug")

    @get("/redis-down", sync_to_thread=False)
    def redis_down(self) -> None:
        raise redis.ConnectionError("connection refused")
