"""The Litestar application: routes, auth, error mapping, OpenAPI."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from pcem.api.admin import ProjectionsAdminController
from pcem.api.auth import JWTAuthenticationMiddleware, Principal
from pcem.api.dependencies import DEPENDENCIES
from pcem.api.events import EventsController
from pcem.api.health import HealthController
from pcem.api.idempotency import IdempotencyInFlightError, IdempotencyMismatchError
from pcem.api.metrics import Metrics, MetricsController, broker_client
from pcem.api.observability import RequestContextMiddleware, echo_request_id
from pcem.api.people import PeopleController
from pcem.api.problems import EXCEPTION_HANDLERS, status_handler
from pcem.api.relationships import RelationshipsController
from pcem.api.settings import SettingsController
from pcem.api.support import SupportController
from pcem.bootstrap import Container

MAX_BODY_BYTES = 64 * 1024


def create_app(container: Container) -> Litestar:
    auth = DefineMiddleware(
        JWTAuthenticationMiddleware, exclude=["^/health", "^/schema", "^/metrics"]
    )
    return Litestar(
        route_handlers=[
            PeopleController,
            RelationshipsController,
            EventsController,
            SettingsController,
            HealthController,
            MetricsController,
            ProjectionsAdminController,
            SupportController,
        ],
        dependencies=DEPENDENCIES,
        middleware=[RequestContextMiddleware, auth],  # outermost first
        before_send=[echo_request_id],
        exception_handlers={
            **EXCEPTION_HANDLERS,
            IdempotencyMismatchError: status_handler(422),
            IdempotencyInFlightError: status_handler(409),
        },
        request_max_body_size=MAX_BODY_BYTES,
        state=State(
            {
                "container": container,
                "verifier": container.verifier,
                "metrics": Metrics(
                    container.tracking, broker_client(container.settings.require_redis())
                ),
            }
        ),
        openapi_config=_openapi(),
        signature_namespace={"Principal": Principal},
        on_shutdown=[container.close],
        debug=False,
    )


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="PCEM",
        version="1",
        path="/schema",
        render_plugins=[ScalarRenderPlugin()],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
        security=[{"bearer": []}],
    )
