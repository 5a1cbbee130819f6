"""Request ids, Prometheus metrics, and structured logs without secrets."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import psycopg
import pytest
import redis
import structlog
from litestar.testing import TestClient

from pcem.settings import Settings
from tests.conftest import TokenFactory
from tests.integration.api_helpers import FAILING, Client, bearer, create_person
from tests.integration.projection_helpers import start_pcem
from tests.polling import wait_until


def test_a_request_id_the_caller_sends_is_echoed(client: Client, auth: dict[str, str]) -> None:
    response = client.get("/api/v1/people", headers={**auth, "X-Request-ID": "trace-42.a:b"})

    assert response.headers["x-request-id"] == "trace-42.a:b"


@pytest.mark.parametrize("sent", [None, b"", b"x" * 129, "bad \u00e9".encode("latin-1"), b"a;b"])
def test_without_a_usable_request_id_one_is_made_up(client: Client, sent: bytes | None) -> None:
    headers = {} if sent is None else {b"X-Request-ID": sent}

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


def test_metrics_count_requests_no_route_takes_under_bounded_labels(client: Client) -> None:
    unknown = f"/api/v1/nothing-{uuid.uuid4().hex}"
    client.get(unknown)
    client.request("BREW", "/api/v1/people")

    text = client.get("/metrics").text

    count = r'_count\{{method="{}",route="unmatched",status="{}"\}} [1-9]'
    assert re.search(count.format("GET", 404), text)
    assert re.search(count.format("other", 405), text)  # a method no client should send
    assert unknown not in text and "BREW" not in text


def test_metrics_show_projection_position_and_lag(client: Client, auth: dict[str, str]) -> None:
    create_person(client, auth)

    text = client.get("/metrics").text

    assert re.search(r'pcem_projection_position\{projection="people_and_dates"\} [1-9]', text)
    assert re.search(r'pcem_projection_lag\{projection="people_and_dates"\} \d', text)
    assert 'pcem_projection_failed{projection="people_and_dates"} 0.0' in text


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


@pytest.mark.slow  # starts `pcem api` as a process
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


@pytest.mark.slow  # starts `pcem api` as a process
def test_requests_no_route_takes_are_logged_once_too(
    api_process: tuple[str, subprocess.Popen[str]], token_for: TokenFactory
) -> None:
    url, process = api_process
    auth = bearer(token_for(f"user-{uuid.uuid4()}"))
    sent = {
        "unknown-route": ("GET", "/api/v1/nothing-here", 404),
        "wrong-method": ("DELETE", "/api/v1/people", 405),
        "not-a-uuid": ("GET", "/api/v1/people/not-a-uuid", 404),
        "outside-the-api": ("GET", "/nothing", 404),
    }
    with httpx.Client(base_url=url, timeout=10) as api:
        for request_id, (method, path, status) in sent.items():
            response = api.request(method, path, headers={**auth, "X-Request-ID": request_id})
            assert response.status_code == status
    process.terminate()
    _, stderr = process.communicate(timeout=15)

    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    for request_id, (method, _, status) in sent.items():
        logged = [line for line in lines if line.get("request_id") == request_id]
        assert [line["event"] for line in logged] == ["http.request"], request_id
        assert logged[0]["route"] == "unmatched"
        assert (logged[0]["method"], logged[0]["status"]) == (method, status)
        assert logged[0]["level"] == "info"


@pytest.mark.parametrize(
    ("path", "status", "level"),
    [
        ("/health/live", 200, "info"),
        ("/api/v1/people/not-a-uuid", 404, "info"),
        (f"{FAILING}/crash", 500, "error"),
        (f"{FAILING}/redis-down", 503, "warning"),  # a dependency is down, not a bug
    ],
)
def test_a_request_is_logged_at_the_level_its_status_calls_for(
    failing: TestClient[Any], auth: dict[str, str], path: str, status: int, level: str
) -> None:
    request_id = uuid.uuid4().hex
    with structlog.testing.capture_logs([structlog.contextvars.merge_contextvars]) as logs:
        response = failing.get(path, headers={**auth, "X-Request-ID": request_id})

    assert response.status_code == status
    [line] = [e for e in logs if e["event"] == "http.request" and e["request_id"] == request_id]
    assert (line["log_level"], line["status"]) == (level, status)


@pytest.mark.slow  # starts `pcem api` as a process
def test_every_connection_of_the_api_names_itself(
    api_process: tuple[str, subprocess.Popen[str]],
    token_for: TokenFactory,
    settings: Settings,
    projector: None,
) -> None:
    url, process = api_process
    auth = bearer(token_for(f"user-{uuid.uuid4()}"))
    with httpx.Client(base_url=url, timeout=10) as api:  # the event store, views, LISTEN
        person = create_person(api, auth, first_name="Ada")["id"]
        assert api.get(f"/api/v1/people/{person}", headers=auth).status_code == 200
        assert api.get("/health/ready").status_code in (200, 503)
    ports = {c.laddr.port for c in psutil.Process(process.pid).net_connections("tcp")}

    with psycopg.connect(settings.require_database().url) as conn:
        names = [
            name
            for name, port in conn.execute(
                "SELECT application_name, client_port FROM pg_stat_activity"
                " WHERE datname = current_database()"
            )
            if port in ports
        ]

    assert len(names) >= 3  # the write side's, the read side's and the LISTEN connection
    assert set(names) == {f"pcem api {socket.gethostname()}:{process.pid}"}


def test_a_client_that_leaves_before_its_answer_is_not_a_server_error(
    live_url: str, token_for: TokenFactory
) -> None:
    host, port = live_url.removeprefix("http://").split(":")
    token = token_for(f"user-{uuid.uuid4()}")
    with socket.create_connection((host, int(port))) as sock:  # half a body, then gone
        sock.sendall(
            b"POST /api/v1/people HTTP/1.1\r\nHost: pcem\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"first_name": "Ad'
        )

    def requests_by_status() -> dict[str, float]:
        text = httpx.get(f"{live_url}/metrics").text
        found = re.findall(
            r'pcem_http_request_duration_seconds_count\{method="POST",'
            r'route="/api/v1/people",status="(\d+)"\} (\S+)',
            text,
        )
        return {status: float(count) for status, count in found}

    wait_until(lambda: "499" in requests_by_status(), 10, "the request to be counted")
    assert "500" not in requests_by_status()
