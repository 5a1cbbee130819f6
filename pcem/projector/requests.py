"""Asking the projector for work: a rebuild request, recorded for whichever projector
process takes it up (``rebuild_worker``). The use case behind
``POST /api/v1/admin/projections/{name}/rebuild``."""

from __future__ import annotations

from pcem.aggregates.ownership import NotFoundError
from pcem.projections.catalog import projection_named
from pcem.projector.rebuild import rebuild_track
from pcem.projector.tracking import ProjectionStatus, ProjectionTracking


def request_rebuild(tracking: ProjectionTracking, name: str) -> ProjectionStatus:
    """Ask for ``name`` (or a former name of it) to be rebuilt aside and swapped in;
    the rebuild as it now is. Asking again while one is pending or running changes
    nothing."""
    projection = projection_named(name)
    if projection is None:
        raise NotFoundError("projection", name)
    name = projection.name
    track = rebuild_track(name).name
    tracking.ensure(name)
    tracking.request(track)
    # The live row answers if the rebuild has already finished in between.
    status = tracking.status(track) or tracking.status(name)
    assert status is not None
    return status
