"""The Litestar application: routes, auth, the conventions, error mapping, OpenAPI."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from pcem.api import conventions
from pcem.api.admin import NotificationsAdminController, ProjectionsAdminController
from pcem.api.auth import JWTAuthenticationMiddleware, Principal
from pcem.api.calendar_feed import CalendarFeedController, FeedController
from pcem.api.docs_ui import docs_assets, docs_page
from pcem.api.erasure import ErasureController
from pcem.api.events import EventsController
from pcem.api.export import ExportController
from pcem.api.health import HealthController
from pcem.api.imports import ImportsController
from pcem.api.metrics import Metrics, MetricsController
from pcem.api.notifications import NotificationsController
from pcem.api.observability import observe_requests
from pcem.api.openapi import (
    PUBLIC_PREFIXES,
    TOKEN_IN_PATH_PREFIXES,
    StrictStructSchemaPlugin,
    complete_document,
)
from pcem.api.people import PeopleController
from pcem.api.problems import EXCEPTION_HANDLERS, unexpected_error
from pcem.api.query_parameters import note_single_valued
from pcem.api.rate_limiting import RateLimitMiddleware, answer_with_quota
from pcem.api.read_your_writes import read_your_writes
from pcem.api.relationships import RelationshipsController
from pcem.api.settings import SettingsController
from pcem.api.support import SupportController
from pcem.commands.idempotency import current_key
from pcem.eventstore.recorder import IdempotencyKeyTakenError
from pcem.settings import RateLimitSettings
from pcem.wiring import Container

MAX_BODY_BYTES = 64 * 1024
PUBLIC_PATHS = tuple(f"^{prefix}" for prefix in PUBLIC_PREFIXES)  # no token, no rate limit
FEED_PATHS = tuple(f"^{prefix}/" for prefix in TOKEN_IN_PATH_PREFIXES)  # no bearer; per address
ROUTES = [
    PeopleController,
    ErasureController,
    RelationshipsController,
    EventsController,
    SettingsController,
    ImportsController,
    NotificationsController,
    HealthController,
    MetricsController,
    ProjectionsAdminController,
    NotificationsAdminController,
    SupportController,
    CalendarFeedController,
    FeedController,
    ExportController,
]


def create_app(
    container: Container, *, extra_routes: Sequence[ControllerRouterHandler] = ()
) -> Litestar:
    """The API over ``container``; ``extra_routes`` join the same conventions (tests)."""
    auth = DefineMiddleware(
        JWTAuthenticationMiddleware,
        exclude=[*PUBLIC_PATHS, *FEED_PATHS],
        # Every method, OPTIONS too (Litestar lets it through by default, for CORS
        # preflights, which PCEM does not serve): the role guards then met no user, a 500.
        exclude_http_methods=[],
    )

    @asynccontextmanager
    async def serving(app: Litestar) -> AsyncIterator[None]:
        async with container.serving() as parts, read_your_writes(container, parts) as ryw:
            app.state.serving = parts
            app.state.read_your_writes = ryw
            yield

    app = Litestar(
        route_handlers=[*ROUTES, docs_assets(), *extra_routes],
        dependencies=conventions.DEPENDENCIES,
        # Counted, then refused.
        middleware=[RateLimitMiddleware(exempt=PUBLIC_PATHS, feeds=FEED_PATHS), auth],
        before_request=conventions.before_request,
        after_request=conventions.after_request,
        after_exception=[conventions.after_exception],
        exception_handlers={**EXCEPTION_HANDLERS, IdempotencyKeyTakenError: _replay_winner},
        request_max_body_size=MAX_BODY_BYTES,
        state=State(
            {
                "container": container,
                # Set by `pcem api` as soon as it is asked to stop: streams end then.
                "stopping": threading.Event(),
                "verifier": container.verifier,
                "metrics": Metrics(container.tracking, container.broker, container.delivery_stats),
            }
        ),
        lifespan=[serving],
        openapi_config=_openapi(),
        plugins=[StrictStructSchemaPlugin()],
        signature_namespace={"Principal": Principal},
        on_shutdown=[container.close],
        debug=False,
    )
    answer_with_quota(app)
    observe_requests(app)  # around routing too: per-route middleware misses 404s and 405s
    note_single_valued(app)
    complete_document(app)
    return app


def proxy_options(settings: RateLimitSettings) -> dict[str, Any]:
    """How uvicorn treats ``X-Forwarded-For``/``-Proto``: only from PCEM_TRUSTED_PROXIES,
    and not at all by default (uvicorn's own default trusts 127.0.0.1)."""
    trusted = list(settings.trusted_proxies)
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


def _replay_winner(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Another request with the same key saved first: answer what it answered."""
    key = current_key.get()
    replayed = conventions.replay_stored(request, key) if key else None
    if replayed is None:
        return unexpected_error(request, exc)
    return replayed


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="PCEM",
        version="1",
        path="/schema",
        render_plugins=[docs_page()],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
        security=[{"bearer": []}],
    )
