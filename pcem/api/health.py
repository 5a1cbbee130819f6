"""Liveness and readiness, without authentication."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import redis
import sqlalchemy.exc
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from sqlalchemy import text

from pcem.wiring import Container


class ProjectionLag(msgspec.Struct):
    lag: int
    state: str


class Readiness(msgspec.Struct):
    database: str
    redis: str
    projections: dict[str, ProjectionLag]
    # Due more than 5 minutes ago and not yet sent; null while the database is down.
    overdue_notifications: int | None


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", operation_id="live", sync_to_thread=False)
    def live(self) -> dict[str, str]:
        """200 while the process runs."""
        return {"status": "ok"}

    @get(
        "/ready",
        operation_id="ready",
        sync_to_thread=True,
        responses={503: ResponseSpec(Readiness, description="PostgreSQL or Redis is down")},
    )
    def ready(self, state: State) -> Response[Readiness]:
        """200 when PostgreSQL and Redis answer; 503 naming what is down."""
        container: Container = state.container
        database, projections, overdue = _database(container)
        readiness = Readiness(
            database=database,
            redis=_redis(container),
            projections=projections,
            overdue_notifications=overdue,
        )
        healthy = readiness.database == "ok" and readiness.redis == "ok"
        return Response(readiness, status_code=200 if healthy else 503)


def _database(container: Container) -> tuple[str, dict[str, Any], int | None]:
    """Whether PostgreSQL answers, and what it says of the projections and reminders."""
    try:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        statuses = container.tracking.statuses()
        overdue = container.overdue.count(datetime.now(UTC))
    except sqlalchemy.exc.SQLAlchemyError:
        return "down", {}, None
    lags = {s.name: ProjectionLag(lag=s.lag, state=s.state) for s in statuses if s.is_live}
    return "ok", lags, overdue


def _redis(container: Container) -> str:
    try:
        container.redis.ping()
    except redis.RedisError:
        return "down"
    return "ok"
