"""``/me/export``: everything of the caller's, streamed, in the format ``Accept`` asks
for (``pcem.api.negotiation``): JSON (the default), vCard or iCalendar."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.response import Stream

from pcem.api.conventions import Caller, query
from pcem.api.negotiation import preferred
from pcem.export.document import ExportDocument
from pcem.export.exports import FORMATS
from pcem.projections.catalog import PEOPLE_AND_DATES

PATH = "/api/v1/me/export"
_BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS}
# Waits for the caller's writes like every read; answers in several media types
# (documented by pcem.api.openapi: the JSON's shape, the others as text).
_EXPORT = query(PEOPLE_AND_DATES)
_EXPORT["opt"] = {**_EXPORT["opt"], "media_types": tuple(_BY_MEDIA_TYPE)}
_SHAPE = ResponseSpec(
    ExportDocument, generate_examples=False, description="Your data, as `Accept` prefers"
)


class ExportController(Controller):
    path = PATH
    tags = ["your data"]

    @get(
        "/",
        operation_id="exportData",
        responses={200: _SHAPE},
        **_EXPORT,
    )
    async def export(self, caller: NamedDependency[Caller]) -> Stream:
        """Everything you gave PCEM, as a file: JSON (the default, with every record's
        history), vCard 4.0 (your people) or iCalendar (your events), as `Accept` asks;
        406 for another type. Streamed from one snapshot."""
        accept = ", ".join(caller.request.headers.getall("Accept", []))
        chosen = _BY_MEDIA_TYPE[preferred(accept, tuple(_BY_MEDIA_TYPE))]
        chunks = await caller.serving.exports.open(caller.user_id, chosen)
        name = f"pcem-export-{datetime.now(UTC).date().isoformat()}.{chosen.extension}"
        headers = {
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",  # personal data, all of it
        }
        return Stream(chunks, media_type=chosen.media_type, headers=headers)
