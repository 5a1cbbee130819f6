"""Asking the projector for work: a rebuild request, recorded for whichever projector
process takes it up (``rebuild_worker``). The use case behind
``POST /api/v1/admin/projections/{name}/rebuild``."""

from __future__ import annotations

from pcem.aggregates.ownership import NotFoundError
from pcem.projections.catalog import all_projections
from pcem.projector.rebuild import rebuild_track
from pcem.projector.tracking import ProjectionStatus, ProjectionTracking


def request_rebuild(tracking: ProjectionTracking, name: str) -> ProjectionStatus:
    """Ask for ``name`` to be rebuilt aside and swapped in; the rebuild as it now is.

    Asking again while a rebuild is pending or running changes nothing."""
    if name not in {p.name for p in all_projections()}:
        raise NotFoundError("projection", name)
    track = rebuild_track(name).name
    tracking.ensure(name)
    tracking.request(track)
    # The live row answers if the rebuild has already finished in between.
    status = tracking.status(track) or tracking.status(name)
    assert status is not None
    return status
