"""Notifications endpoints: the caller's notifications (the in-app inbox) and the stream.

The ledger is the process manager's state, read here as it is: nothing the
caller sends changes it but ``read``. The stream is Litestar's Server-Sent Events
response over an :class:`~pcem.notifications.following.InAppFeed` follower.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from prometheus_client import Gauge

from pcem.aggregates.ownership import NotFoundError
from pcem.api.conventions import Caller, Paging, command, query
from pcem.api.pagination import Page, decode_cursor, decode_time_cursor, encode_cursor
from pcem.api.pagination import encode_time_cursor as encode_due_cursor
from pcem.api.problems import FieldError, InvalidInputError
from pcem.notifications.following import Follower, Sent
from pcem.notifications.in_app import Key
from pcem.notifications.inbox import NotificationDetail, NotificationRow
from pcem.projections.catalog import PEOPLE_AND_DATES

PATH = "/api/v1/notifications"
LAST_EVENT_ID = "Last-Event-ID"
STREAM_EVENT = "notification"
_STREAM_CURSOR = "in_app"  # marks a stream position, so a list cursor is not taken for one
EXPIRED = "the token has expired: reconnect with a new one and Last-Event-ID"

# The ledger's row changes, not an event; 409 for a reminder not sent yet (documented).
_MARK_READ = command(writes_events=False)
_MARK_READ["opt"] = {**_MARK_READ["opt"], "conflicts": True}

Status = Literal["scheduled", "sending", "sent", "failed", "cancelled"]
Channel = Literal["email", "sms", "webhook", "in_app"]


class NotificationsController(Controller):
    path = PATH
    tags = ["notifications"]

    @get("/", operation_id="listNotifications", **query(PEOPLE_AND_DATES))
    async def list_notifications(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        status: FromQuery[Status | None] = None,
        channel: FromQuery[Channel | None] = None,
    ) -> Page[NotificationRow]:
        """Your notifications, newest ``due_at`` first, optionally of one status or channel;
        the reminders still to come (the schedule's next 35 days at least) as ``scheduled``
        ones, with the id, ``due_at``, title and body they will keep when sent."""
        before = decode_time_cursor(paging.cursor) if paging.cursor else None
        rows = await caller.serving.inbox.page(
            caller.user_id, status=status, channel=channel, before=before, limit=paging.fetch
        )
        return paging.page(rows, lambda row: encode_due_cursor(*row.sort_key))

    @get(
        "/stream",
        operation_id="streamNotifications",
        media_type="text/event-stream",
        response_description="Server-Sent Events, until the client leaves or the token expires",
    )
    async def stream(
        self,
        caller: NamedDependency[Caller],
        last_event_id: Annotated[
            str | None, HeaderParameter(name=LAST_EVENT_ID, max_length=1024)
        ] = None,
    ) -> ServerSentEvent:
        """Server-Sent Events: ``event: notification`` with the Notification as ``data``,
        for each in-app notification as it is sent; ``id`` is where to resume, sent back
        as ``Last-Event-ID`` on reconnecting. A comment at least every 15 s; the stream
        ends when the token expires."""
        after = stream_position(last_event_id) if last_event_id else None
        follower = await caller.serving.in_app.follow(caller.user_id, after)
        state = caller.request.app.state
        until = caller.principal.expires_at
        return ServerSentEvent(
            _messages(follower, until, state.stopping, state.metrics.streams_open)
        )

    @get(
        "/{notification_id:uuid}",
        operation_id="getNotification",
        **query(PEOPLE_AND_DATES),
    )
    async def get_notification(
        self, notification_id: FromPath[UUID], caller: NamedDependency[Caller]
    ) -> NotificationDetail:
        """One of your notifications, with every attempt to deliver it; 404 if not yours."""
        detail = await caller.serving.inbox.get(caller.user_id, notification_id)
        if detail is None:
            raise NotFoundError("Notification", notification_id)
        return detail

    @post(
        "/{notification_id:uuid}/read",
        operation_id="readNotification",
        status_code=200,
        **_MARK_READ,
    )
    async def read(
        self, notification_id: FromPath[UUID], caller: NamedDependency[Caller]
    ) -> NotificationRow:
        """Mark it read: ``read_at`` is set the first time, and kept on every later read.
        409 for a reminder not due yet (nothing has been sent to read)."""
        now = datetime.now(UTC)
        row = await caller.serving.inbox.mark_read(caller.user_id, notification_id, now)
        if row is None:
            raise NotFoundError("Notification", notification_id)
        return row


async def _messages(
    follower: Follower, until: float, stopping: threading.Event, streams: Gauge
) -> AsyncIterator[ServerSentEventMessage]:
    streams.inc()
    try:
        async with aclosing(follower.events(until, stopping)) as events:
            async for item in events:
                if isinstance(item, Sent):
                    yield _event(item)
                else:
                    yield ServerSentEventMessage(comment=item, data=None)
        if time.time() >= until:
            yield ServerSentEventMessage(comment=EXPIRED, data=None)
    finally:
        streams.dec()


def _event(sent: Sent) -> ServerSentEventMessage:
    return ServerSentEventMessage(
        id=encode_stream_position(sent.resume_after),
        event=STREAM_EVENT,
        data=msgspec.json.encode(sent.notification).decode(),
    )


def encode_stream_position(key: Key) -> str:
    sent_at, notification_id = key
    return encode_cursor((_STREAM_CURSOR, sent_at.isoformat(), str(notification_id)))


def stream_position(value: str) -> Key:
    """Where a ``Last-Event-ID`` says to resume; 400 if this API did not send it."""
    try:
        kind, sent_at, notification_id = decode_cursor(value.strip(), length=3)
        if kind != _STREAM_CURSOR:
            raise ValueError(kind)
        return datetime.fromisoformat(sent_at), UUID(notification_id)
    except (InvalidInputError, ValueError):
        message = "is not an event id this stream sent"
        raise InvalidInputError([FieldError(LAST_EVENT_ID, message)]) from None
