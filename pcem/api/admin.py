"""Operator endpoints: projection status and rebuild requests."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from pcem.api.conventions import Caller
from pcem.api.roles import OPERATOR, requires_role
from pcem.commands.base import NotFoundError
from pcem.projections.rebuild import rebuild_track
from pcem.projections.supervisor import all_projections
from pcem.projections.tracking import ProjectionStatus


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
    )
    def rebuild(
        self, name: FromPath[str], caller: NamedDependency[Caller]
    ) -> Response[ProjectionOut]:
        """Ask the projector to rebuild a projection aside and swap it in (202).

        The API keeps serving the current tables meanwhile. Asking again while a
        rebuild is pending or running changes nothing. Follow it in the list above.
        """
        if name not in {p.name for p in all_projections()}:
            raise NotFoundError("projection", name)
        track = rebuild_track(name).name
        tracking = caller.services.tracking
        tracking.ensure(name)
        tracking.request(track)
        # The live row answers if the rebuild has already finished in between.
        status = tracking.status(track) or tracking.status(name)
        assert status is not None
        return Response(
            ProjectionOut.from_status(status),
            status_code=202,
            headers={"Location": ProjectionsAdminController.path},
        )
