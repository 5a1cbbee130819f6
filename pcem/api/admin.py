"""Operator endpoints: projection status and rebuild requests, the failed set."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import FromPath

from pcem.aggregates.ownership import NotFoundError
from pcem.api.conventions import Caller, Paging
from pcem.api.pagination import Page, decode_time_cursor, encode_time_cursor
from pcem.api.roles import OPERATOR, requires_role
from pcem.notifications.inbox import FailedNotification
from pcem.projector.requests import request_rebuild
from pcem.projector.tracking import ProjectionStatus


class ProjectionOut(msgspec.Struct):
    """A projection (or a rebuild, ``<name>@rebuild``) and how far it has got."""

    name: str
    position: int
    head: int
    lag: int
    state: str
    error: str | None
    failed_position: int | None
    runner: str | None

    @classmethod
    def from_status(cls, s: ProjectionStatus) -> ProjectionOut:
        return cls(s.name, s.position, s.head, s.lag, s.state, s.error, s.failed_position, s.runner)


class ProjectionsAdminController(Controller):
    path = "/api/v1/admin/projections"
    tags = ["operators"]
    guards = [requires_role(OPERATOR)]

    @get("/", operation_id="listProjections", sync_to_thread=True)
    def list_projections(self, caller: NamedDependency[Caller]) -> list[ProjectionOut]:
        """Every projection and rebuild: position, event store head, lag, state, runner."""
        return [ProjectionOut.from_status(s) for s in caller.services.tracking.statuses()]

    @post(
        "/{name:str}/rebuild",
        operation_id="rebuildProjection",
        status_code=202,
        sync_to_thread=True,
        response_headers=[
            ResponseHeader(
                name="Location",
                description="The projections list, where the rebuild can be followed.",
                documentation_only=True,
            )
        ],
    )
    def rebuild(
        self, name: FromPath[str], caller: NamedDependency[Caller]
    ) -> Response[ProjectionOut]:
        """Ask the projector to rebuild a projection aside and swap it in (202).

        The API keeps serving the current tables meanwhile. Asking again while a
        rebuild is pending or running changes nothing. Follow it in the list above.
        """
        status = request_rebuild(caller.services.tracking, name)
        return Response(
            ProjectionOut.from_status(status),
            status_code=202,
            headers={"Location": ProjectionsAdminController.path},
        )


class NotificationsAdminController(Controller):
    path = "/api/v1/admin/notifications"
    tags = ["operators"]
    guards = [requires_role(OPERATOR)]

    @get("/failed", operation_id="listFailedNotifications", sync_to_thread=True)
    def failed(
        self, caller: NamedDependency[Caller], paging: NamedDependency[Paging]
    ) -> Page[FailedNotification]:
        """Every user's failed notifications (retries exhausted), newest ``due_at`` first;
        each item also names its ``user_id``."""
        before = decode_time_cursor(paging.cursor) if paging.cursor else None
        rows = caller.services.failed_notifications.page(before=before, limit=paging.fetch)
        return paging.page(rows, lambda row: encode_time_cursor(*row.sort_key))

    @post(
        "/{notification_id:uuid}/retry",
        operation_id="retryNotification",
        status_code=202,
        sync_to_thread=True,
        opt={"conflicts": True},  # documents its 409
    )
    def retry(
        self, notification_id: FromPath[UUID], caller: NamedDependency[Caller]
    ) -> FailedNotification:
        """Send a failed notification again, to its channel's current address (202,
        with it as it now is: ``scheduled``). One no longer wanted (its channel removed,
        its person or event deleted) is not sent: it answers ``cancelled``, the reason
        in ``last_error``.

        Idempotent: asking again after it was retried answers 202 and changes nothing.
        409 for one that was never failed; 404 for an unknown id."""
        moved = caller.services.ledger.retry(notification_id, datetime.now(UTC))
        notification = caller.services.failed_notifications.get(notification_id)
        if moved is None or notification is None:
            raise NotFoundError("Notification", notification_id)
        return notification
