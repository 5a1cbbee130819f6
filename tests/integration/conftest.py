"""Fixtures of the integration tests, beyond the shared ones of tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from litestar.testing import TestClient

from pcem.api.app import create_app
from pcem.settings import load_settings
from pcem.wiring import Container, build_container
from tests.integration.api_helpers import FailingController


@pytest.fixture(scope="session")
def failing(container: Container, projector: None) -> Iterator[TestClient[Any]]:
    """The API plus routes that fail on purpose, under the same conventions."""
    app = create_app(container, extra_routes=[FailingController])
    app.on_shutdown.clear()  # the session's container outlives this client
    with TestClient(app) as client:
        yield client


@pytest.fixture
def outgoing_http() -> Iterator[urllib3.PoolManager]:
    """The HTTP client the wiring gives the delivery worker (no redirects, no cookies)."""
    container = build_container(load_settings({}))
    yield container.http
    container.close()
