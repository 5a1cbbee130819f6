"""Notifications endpoints: the caller's notifications (the in-app inbox).

The ledger is the process manager's state, read here as it is: nothing the
caller sends changes it but ``read``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from pcem.api.conventions import Caller, Paging, command, query
from pcem.api.pagination import Page, decode_time_cursor
from pcem.api.pagination import encode_time_cursor as encode_due_cursor
from pcem.api.people import PEOPLE
from pcem.commands.base import NotFoundError
from pcem.notifications.inbox import NotificationDetail, NotificationRow

PATH = "/api/v1/notifications"

Status = Literal["scheduled", "sending", "sent", "failed", "cancelled"]
Channel = Literal["email", "sms", "webhook", "in_app"]


class NotificationsController(Controller):
    path = PATH
    tags = ["notifications"]

    @get("/", operation_id="listNotifications", sync_to_thread=True, **query(PEOPLE))
    def list_notifications(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        status: FromQuery[Status | None] = None,
        channel: FromQuery[Channel | None] = None,
    ) -> Page[NotificationRow]:
        """Your notifications, newest ``due_at`` first, optionally of one status or channel."""
        before = decode_time_cursor(paging.cursor) if paging.cursor else None
        rows = caller.services.inbox.page(
            caller.user_id, status=status, channel=channel, before=before, limit=paging.fetch
        )
        return paging.page(rows, lambda row: encode_due_cursor(*row.sort_key))

    @get(
        "/{notification_id:uuid}",
        operation_id="getNotification",
        sync_to_thread=True,
        **query(PEOPLE),
    )
    def get_notification(
        self, notification_id: FromPath[UUID], caller: NamedDependency[Caller]
    ) -> NotificationDetail:
        """One of your notifications, with every attempt to deliver it; 404 if not yours."""
        detail = caller.services.inbox.get(caller.user_id, notification_id)
        if detail is None:
            raise NotFoundError("Notification", notification_id)
        return detail

    @post(
        "/{notification_id:uuid}/read",
        operation_id="readNotification",
        status_code=200,
        sync_to_thread=True,
        **command(),
    )
    def read(
        self, notification_id: FromPath[UUID], caller: NamedDependency[Caller]
    ) -> NotificationRow:
        """Mark it read: ``read_at`` is set the first time, and kept on every later read."""
        row = caller.services.inbox.mark_read(caller.user_id, notification_id, datetime.now(UTC))
        if row is None:
            raise NotFoundError("Notification", notification_id)
        return row
