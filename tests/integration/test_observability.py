"""Request ids, Prometheus metrics, and structured logs without secrets."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from pcem.settings import Settings
from tests.conftest import TokenFactory
from tests.integration.api_helpers import Client, bearer, create_person
from tests.integration.projection_helpers import start_pcem
from tests.polling import wait_until


def test_a_request_id_the_caller_sends_is_echoed(client: Client, auth: dict[str, str]) -> None:
    response = client.get("/api/v1/people", headers={**auth, "X-Request-ID": "trace-42.a:b"})

    assert response.headers["x-request-id"] == "trace-42.a:b"


@pytest.mark.parametrize("sent", [None, b"", b"x" * 129, "bad \u00e9".encode("latin-1"), b"a;b"])
def test_without_a_usable_request_id_one_is_made_up(client: Client, sent: bytes | None) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}

    response = client.get("/health/live", headers=headers)

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


@pytest.mark.parametrize("path", ["/api/v1/people", "/api/v1/nothing-here", "/nothing"])
def test_errors_carry_a_request_id_too(client: Client, path: str) -> None:
    response = client.get(path, headers={"X-Request-ID": "err-1"})

    assert response.status_code in (401, 404)
    assert response.headers["x-request-id"] == "err-1"


def test_metrics_need_no_token_and_show_latency_by_route_template(
    client: Client, auth: dict[str, str]
) -> None:
    person = create_person(client, auth)
    client.get(f"/api/v1/people/{person['id']}", headers=auth)

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert re.search(
        r'pcem_http_request_duration_seconds_count\{method="GET",'
        r'route="/api/v1/people/\{person_id\}",status="200"\} [1-9]',
        response.text,
    )
    assert person["id"] not in response.text  # templates, never raw paths


def test_metrics_show_projection_position_and_lag(client: Client, auth: dict[str, str]) -> None:
    create_person(client, auth)

    text = client.get("/metrics").text

    assert re.search(r'pcem_projection_position\{projection="people"\} [1-9]', text)
    assert re.search(r'pcem_projection_lag\{projection="people"\} \d', text)
    assert 'pcem_projection_failed{projection="people"} 0.0' in text


def test_metrics_show_the_depth_of_each_queue(client: Client, settings: Settings) -> None:
    broker = redis.Redis.from_url(settings.require_redis().broker_url)
    broker.delete("delivery", "notification-schedule")
    try:
        broker.rpush("delivery", "task-1", "task-2")

        text = client.get("/metrics").text

        assert 'pcem_queue_depth{queue="delivery"} 2.0' in text
        assert 'pcem_queue_depth{queue="notification-schedule"} 0.0' in text
    finally:
        broker.delete("delivery")


@pytest.fixture
def api_process(settings: Settings) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A real `pcem api`, logging at INFO to a pipe we read afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = start_pcem(
        settings,
        "api",
        "--port",
        str(port),
        stderr=subprocess.PIPE,
        env_extra={"PCEM_LOG_LEVEL": "INFO"},
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(url), 30, "the API to start")
    yield url, process
    process.kill()
    process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/live", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_logs_are_json_with_request_and_user_ids_and_never_the_token(
    api_process: tuple[str, subprocess.Popen[str]], token_for: TokenFactory
) -> None:
    url, process = api_process
    user = f"user-{uuid.uuid4()}"
    token = token_for(user)
    forged = token[:-4] + "AAAA"
    with httpx.Client(base_url=url, timeout=10) as api:
        api.post(
            "/api/v1/people",
            json={"first_name": "Ada"},
            headers={**bearer(token), "X-Request-ID": "req-ok"},
        )
        api.get("/api/v1/people", headers=bearer(forged))  # 401
        api.get("/api/v1/people", params={"q": token}, headers=bearer(token))
        api.get("/api/v1/people/not-a-uuid", headers={"Authorization": f"Basic {token}"})
    process.terminate()
    _, stderr = process.communicate(timeout=15)

    assert token not in stderr and forged not in stderr
    assert token.split(".")[1] not in stderr and token.split(".")[2] not in stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    created = next(line for line in lines if line.get("request_id") == "req-ok")
    assert created["event"] == "http.request" and created["user_id"] == user
    assert created["route"] == "/api/v1/people" and created["status"] == 201
    requests = [line for line in lines if line["event"] == "http.request"]
    assert all(line["request_id"] for line in requests)
    assert {line["status"] for line in requests} >= {201, 401, 200}
