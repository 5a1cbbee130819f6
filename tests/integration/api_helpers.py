"""Small helpers for talking to the API in tests."""

from __future__ import annotations

from typing import Any

import httpx
import redis
from litestar import Controller, get
from litestar.testing import TestClient

PEOPLE = "/api/v1/people"
FAILING = "/api/v1/test-failures"
Client = TestClient[Any]


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


class FailingController(Controller):
    """Routes that fail on purpose (the real ones must not): the ``failing`` client."""

    path = FAILING

    @get("/crash", sync_to_thread=False)
    def crash(self) -> None:
        raise RuntimeError("a bug")

    @get("/redis-down", sync_to_thread=False)
    def redis_down(self) -> None:
        raise redis.ConnectionError("connection refused")
