"""Events endpoints (the dates that matter) and the upcoming query."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from pcem.aggregates.event import CalendarEvent, DateOutOfRangeError
from pcem.aggregates.occurrences import in_calendar
from pcem.api.audit import History, history_of
from pcem.api.auth import Principal
from pcem.api.calendar_schemas import (
    CreateEvent,
    EventOut,
    Upcoming,
    UpdateEvent,
    parse_event_date,
)
from pcem.api.consistency import POSITION_HEADER, ReadYourWrites
from pcem.api.dependencies import container_of
from pcem.api.idempotency import Idempotency, StoredResult, request_fingerprint
from pcem.api.pagination import Cursor, Limit, Page, decode_time_cursor, encode_time_cursor
from pcem.api.people import READS, IdempotencyKeyHeader, IfMatch, MinPosition, instant, remember
from pcem.api.problems import FieldError, InvalidInputError
from pcem.api.versions import etag, expected_version, versioned_response
from pcem.commands.base import NotFoundError, Written
from pcem.commands.calendar import CalendarApplication
from pcem.projections.calendar_view import CalendarView

MAX_RANGE = timedelta(days=366)


def event_response(
    event: CalendarEvent, *, status: int = 200, written: Written[CalendarEvent] | None = None
) -> Response[EventOut]:
    body = EventOut.from_aggregate(event)
    location = f"{EventsController.path}/{body.id}" if status == 201 else None
    position = written.position if written else 0
    return versioned_response(
        body, body.version, status=status, position=position, location=location
    )


class EventsController(Controller):
    path = "/api/v1/events"
    tags = ["events"]

    @post("/", operation_id="createEvent", status_code=201, sync_to_thread=True)
    def create_event(
        self,
        data: JSONBody[CreateEvent],
        principal: NamedDependency[Principal],
        calendar: NamedDependency[CalendarApplication],
        ryw: NamedDependency[ReadYourWrites],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[EventOut]:
        """Record a date that matters about one of your people (404 if not yours or deleted)."""
        event_date = parse_event_date(data.event_date)

        def execute(key: Any) -> Response[EventOut]:
            written = calendar.create_event(
                principal.user_id,
                person_id=data.person_id,
                title=data.title,
                event_date=event_date,
                is_special_event=data.is_special_event,
                recurrence=data.recurrence,
                notes=data.notes,
                idempotency=key,
            )
            remember(ryw, principal, written)
            return event_response(written.aggregate, status=201, written=written)

        def replay(stored: StoredResult) -> Response[EventOut]:
            event = calendar.at_version(
                principal.user_id, stored.aggregate_id, CalendarEvent, stored.aggregate_version
            )
            return event_response(event, status=201)

        fingerprint = request_fingerprint("createEvent", self.path, data)
        return idempotency.run(principal.user_id, idempotency_key, fingerprint, execute, replay)

    @get("/", operation_id="listEvents", sync_to_thread=True)
    def list_events(
        self,
        principal: NamedDependency[Principal],
        calendar_view: NamedDependency[CalendarView],
        ryw: NamedDependency[ReadYourWrites],
        person_id: FromQuery[UUID | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
        min_position: MinPosition = None,
    ) -> Page[EventOut]:
        """Your events, oldest first, optionally of one person."""
        ryw.wait(principal.user_id, min_position, READS)
        after = decode_time_cursor(cursor) if cursor else None
        rows = calendar_view.page(principal.user_id, person_id, after=after, limit=limit + 1)
        more = len(rows) > limit
        return Page(
            items=[EventOut.from_row(r) for r in rows[:limit]],
            next_cursor=encode_time_cursor(*rows[limit - 1].sort_key) if more else None,
        )

    @get("/upcoming", operation_id="upcomingEvents", sync_to_thread=True)
    def upcoming(
        self,
        request: Request[Principal, Any, Any],
        days: Annotated[int | None, QueryParameter(ge=1, le=366)] = None,
        from_: Annotated[str | None, QueryParameter(name="from", max_length=64)] = None,
        to: Annotated[str | None, QueryParameter(max_length=64)] = None,
        special_only: FromQuery[bool] = False,
        min_position: MinPosition = None,
    ) -> Upcoming:
        """Occurrences in the next ``days`` local days (from today's local midnight; default
        30), or in the UTC range ``from``..``to`` (at most 366 days), sorted by ``occurs_at``."""
        # The hottest read takes its services from the container, not as injected
        # dependencies: Litestar resolves several of them in an anyio task group, which
        # cost 0.5 ms a request here (docs/performance.md).
        principal, services = request.user, container_of(request.app.state)
        services.read_your_writes.wait(principal.user_id, min_position, READS)
        now = datetime.now(UTC)
        zone, items = services.calendar_view.upcoming(
            principal.user_id,
            lambda zone: _range(zone, now.astimezone(zone).date(), days, from_, to),
            special_only=special_only,
            now=now,
        )
        return Upcoming(timezone=zone.key, items=items)

    @get("/{event_id:uuid}", operation_id="getEvent", sync_to_thread=True)
    def get_event(
        self,
        event_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        calendar_view: NamedDependency[CalendarView],
        ryw: NamedDependency[ReadYourWrites],
        min_position: MinPosition = None,
    ) -> Response[EventOut]:
        """One of your events; 404 if missing, deleted, its person deleted, or not yours."""
        ryw.wait(principal.user_id, min_position, READS)
        row = calendar_view.get(principal.user_id, event_id)
        if row is None:
            raise NotFoundError("Event", event_id)
        return Response(EventOut.from_row(row), headers={"ETag": etag(row.version)})

    @patch("/{event_id:uuid}", operation_id="updateEvent", sync_to_thread=True)
    def update_event(
        self,
        event_id: FromPath[UUID],
        data: JSONBody[UpdateEvent],
        principal: NamedDependency[Principal],
        calendar: NamedDependency[CalendarApplication],
        ryw: NamedDependency[ReadYourWrites],
        if_match: IfMatch = None,
    ) -> Response[EventOut]:
        """Change title, date, special flag, recurrence or notes."""
        written = calendar.update_event(
            principal.user_id, event_id, data.fields(), expected_version=expected_version(if_match)
        )
        remember(ryw, principal, written)
        return event_response(written.aggregate, written=written)

    @delete("/{event_id:uuid}", operation_id="deleteEvent", sync_to_thread=True)
    def delete_event(
        self,
        event_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        calendar: NamedDependency[CalendarApplication],
        ryw: NamedDependency[ReadYourWrites],
        if_match: IfMatch = None,
    ) -> Response[None]:
        """Delete the event (its history stays readable)."""
        written = calendar.delete_event(
            principal.user_id, event_id, expected_version=expected_version(if_match)
        )
        remember(ryw, principal, written)
        return Response(None, status_code=204, headers={POSITION_HEADER: str(written.position)})

    @get("/{event_id:uuid}/history", operation_id="eventHistory", sync_to_thread=True)
    def history(
        self,
        event_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        calendar: NamedDependency[CalendarApplication],
    ) -> History:
        """Every change to the event, oldest first — also after deletion."""
        return history_of(calendar.history(principal.user_id, event_id, CalendarEvent))


def _range(
    zone: ZoneInfo, today: date, days: int | None, from_: str | None, to: str | None
) -> tuple[datetime, datetime]:
    if from_ is None and to is None:
        span = timedelta(days=days or 30)
        return _local_midnight(today, zone), _local_midnight(today + span, zone)
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
    return start.astimezone(UTC), end.astimezone(UTC)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
