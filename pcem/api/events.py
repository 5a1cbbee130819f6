"""Events endpoints (the dates that matter) and the upcoming query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from pcem.aggregates.event import CalendarEvent, DateOutOfRangeError
from pcem.aggregates.occurrences import in_calendar
from pcem.aggregates.ownership import NotFoundError
from pcem.api.conventions import Caller, Paging, command, query
from pcem.api.events_schemas import CreateEvent, EventOut, Upcoming, UpdateEvent
from pcem.api.history import after_version, page_of
from pcem.api.instants import DATE_TIME, AsOf, instant
from pcem.api.pagination import Page, decode_time_cursor, encode_time_cursor
from pcem.api.problems import FieldError, InvalidInputError
from pcem.api.versions import etag, no_content, versioned_response, written_response
from pcem.commands.history import History, history_of
from pcem.commands.idempotency import StoredResult
from pcem.projections.calendar_view import Between, NextDays, Span
from pcem.projections.catalog import PEOPLE_AND_DATES

PATH = "/api/v1/events"
MAX_RANGE = timedelta(days=366)
# OpenAPI cannot tie query parameters to each other: the descriptions say how (else 400).
_DAYS_DOC = "Local days from today's midnight (default 30). Not with `from`/`to`: a 400."
_RANGE_DOC = (
    "The UTC range [`from`, `to`), RFC 3339 with offset: both or neither, `to` after"
    " `from`, at most 366 days, and not with `days` (else a 400)."
)


def _replay_created(caller: Caller, stored: StoredResult) -> Response[EventOut]:
    event = caller.services.calendar.at_version(
        caller.user_id, stored.aggregate_id, CalendarEvent, stored.aggregate_version
    )
    body = EventOut.of(event)
    return versioned_response(body, body.version, status=201, location=f"{PATH}/{body.id}")


class EventsController(Controller):
    path = PATH
    tags = ["events"]

    @post(
        "/",
        operation_id="createEvent",
        status_code=201,
        sync_to_thread=True,
        **command(replay=_replay_created),
    )
    def create_event(
        self, data: JSONBody[CreateEvent], caller: NamedDependency[Caller]
    ) -> Response[EventOut]:
        """Record a date that matters about one of your people (404 if not yours or deleted)."""
        written = caller.services.calendar.create_event(
            caller.user_id, data.person_id, **data.fields()
        )
        body = EventOut.of(written.aggregate)
        return written_response(body, written, status=201, location=f"{PATH}/{body.id}")

    @get("/", operation_id="listEvents", **query(PEOPLE_AND_DATES))
    async def list_events(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        person_id: FromQuery[UUID | None] = None,
    ) -> Page[EventOut]:
        """Your events, oldest first, optionally of one person."""
        after = decode_time_cursor(paging.cursor) if paging.cursor else None
        rows = await caller.serving.calendar_view.page(
            caller.user_id, person_id, after=after, limit=paging.fetch
        )
        return paging.page(rows, lambda r: encode_time_cursor(*r.sort_key))

    @get("/upcoming", operation_id="upcomingEvents", **query(PEOPLE_AND_DATES))
    async def upcoming(
        self,
        caller: NamedDependency[Caller],
        days: Annotated[int | None, QueryParameter(ge=1, le=366, description=_DAYS_DOC)] = None,
        from_: Annotated[
            str | None,
            QueryParameter(
                name="from", max_length=64, description=_RANGE_DOC, schema_extra=DATE_TIME
            ),
        ] = None,
        to: Annotated[
            str | None,
            QueryParameter(max_length=64, description=_RANGE_DOC, schema_extra=DATE_TIME),
        ] = None,
        special_only: FromQuery[bool] = False,
    ) -> Upcoming:
        """Occurrences in the next ``days`` local days (from today's local midnight; default
        30), or in the UTC range ``from``..``to`` (at most 366 days), sorted by ``occurs_at``."""
        span = _span(days, from_, to)
        zone, items = await caller.serving.calendar_view.upcoming(
            caller.user_id, span, special_only=special_only, now=datetime.now(UTC)
        )
        return Upcoming(timezone=zone.key, items=items)

    @get("/{event_id:uuid}", operation_id="getEvent", **query(PEOPLE_AND_DATES))
    async def get_event(
        self, event_id: FromPath[UUID], caller: NamedDependency[Caller], as_of: AsOf = None
    ) -> Response[EventOut]:
        """One of your events; 404 if missing, deleted, its person deleted, or not yours.
        With ``as_of``, the event as it was at that moment (from the event store)."""
        if as_of is not None:
            return await caller.in_thread(self._as_of, caller, event_id, instant("as_of", as_of))
        row = await caller.serving.calendar_view.get(caller.user_id, event_id)
        if row is None:
            raise NotFoundError("Event", event_id)
        return Response(row, headers={"ETag": etag(row.version)})

    @staticmethod
    def _as_of(caller: Caller, event_id: UUID, moment: datetime) -> Response[EventOut]:
        event = caller.services.calendar.as_of(caller.user_id, event_id, CalendarEvent, moment)
        return versioned_response(EventOut.of(event), event.version)

    @patch(
        "/{event_id:uuid}",
        operation_id="updateEvent",
        sync_to_thread=True,
        **command(conditional=True),
    )
    def update_event(
        self, event_id: FromPath[UUID], data: JSONBody[UpdateEvent], caller: NamedDependency[Caller]
    ) -> Response[EventOut]:
        """Change title, date, special flag, recurrence or notes."""
        written = caller.services.calendar.update_event(
            caller.user_id, event_id, data.fields(), expected_version=caller.expected_version
        )
        return written_response(EventOut.of(written.aggregate), written)

    @delete(
        "/{event_id:uuid}",
        operation_id="deleteEvent",
        sync_to_thread=True,
        **command(conditional=True),
    )
    def delete_event(
        self, event_id: FromPath[UUID], caller: NamedDependency[Caller]
    ) -> Response[None]:
        """Delete the event (its history stays readable)."""
        written = caller.services.calendar.delete_event(
            caller.user_id, event_id, expected_version=caller.expected_version
        )
        return no_content(written)

    @get("/{event_id:uuid}/history", operation_id="eventHistory", sync_to_thread=True)
    def history(
        self,
        event_id: FromPath[UUID],
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
    ) -> History:
        """Every change to the event, oldest first — also after deletion; paged by version."""
        events = caller.services.calendar.history(
            caller.user_id,
            event_id,
            CalendarEvent,
            after=after_version(paging, event_id),
            limit=paging.fetch,
        )
        return history_of(*page_of(paging, event_id, events))


def _span(days: int | None, from_: str | None, to: str | None) -> Span:
    """The range an upcoming request asks for, checked; the view resolves it in the
    user's zone (``days`` counts local days from today's local midnight)."""
    if from_ is None and to is None:
        return NextDays(days or 30)
    if days is not None or from_ is None or to is None:
        raise InvalidInputError(
            [FieldError("from", "give both from and to, or days, but not days with from/to")]
        )
    start, end = instant("from", from_), instant("to", to)
    for field, moment in (("from", start), ("to", end)):
        if not in_calendar(moment):
            raise InvalidInputError([FieldError(field, str(DateOutOfRangeError()))])
    if not start < end:
        raise InvalidInputError([FieldError("to", "must be later than from")])
    if end - start > MAX_RANGE:
        raise InvalidInputError([FieldError("to", "the range may span at most 366 days")])
    return Between(start.astimezone(UTC), end.astimezone(UTC))
