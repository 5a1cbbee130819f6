"""The calendar feed: ``/me/calendar-feed`` makes, shows and revokes the caller's secret
URL; ``/feeds/calendar/{token}.ics`` answers it, with no bearer token (the token in the
URL is the credential) and counted per client address (``pcem.api.rate_limiting``)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from litestar import Controller, Request, Response, delete, get, head, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from pcem.api.calendar_feed_schemas import CalendarFeedCreated, CalendarFeedStatus
from pcem.api.conventions import Caller, command
from pcem.wiring import Serving

ME = "/api/v1/me/calendar-feed"
FEEDS = "/feeds/calendar"
SUFFIX = ".ics"
MEDIA_TYPE = "text/calendar"  # Litestar adds "; charset=utf-8"
# Personal data behind a secret URL: no shared cache keeps it, and a client asks again
# each time (a 304 when nothing changed) so a revoked URL stops at once there too.
CACHING = {"Cache-Control": "private, no-cache"}
NO_STORE = {"Cache-Control": "no-store"}  # the answer holds the secret URL
# A change outside the event store, of a resource the caller may not have (404).
_REVOKE = command(writes_events=False)
_REVOKE["opt"] = {**_REVOKE["opt"], "may_be_missing": True}


class CalendarFeedController(Controller):
    path = ME
    tags = ["calendar feed"]

    @post("/", operation_id="createCalendarFeed", **command(writes_events=False))
    async def create_feed(self, caller: NamedDependency[Caller]) -> Response[CalendarFeedCreated]:
        """A new secret feed URL, shown only in this answer; any earlier one stops working."""
        token, created_at = await caller.serving.calendar_feeds.create(caller.user_id)
        url = feed_url(caller.request, token)
        body = CalendarFeedCreated(url, "webcal" + url[url.index(":") :], created_at)
        return Response(body, status_code=201, headers={**NO_STORE, "Location": ME})

    @get("/", operation_id="getCalendarFeed", opt={"may_be_missing": True})
    async def get_feed(self, caller: NamedDependency[Caller]) -> CalendarFeedStatus:
        """When your feed was made and last fetched; 404 if you have none."""
        status = await caller.serving.calendar_feeds.status(caller.user_id)
        if status is None:
            raise NotFoundException("you have no calendar feed")
        return CalendarFeedStatus(status.created_at, status.last_fetched_at)

    @delete("/", operation_id="revokeCalendarFeed", **_REVOKE)
    async def revoke_feed(self, caller: NamedDependency[Caller]) -> None:
        """Revoke your feed: its URL stops working at once; 404 if you have none."""
        if not await caller.serving.calendar_feeds.revoke(caller.user_id):
            raise NotFoundException("you have no calendar feed")


# The feed's routes: an ETag of the content; documented as clients call them.
_FEED = {"entity_tag": True, "documented_as": (f"{FEEDS}/{{token}}{SUFFIX}", "file", "token")}


class FeedController(Controller):
    path = FEEDS
    tags = ["calendar feed"]

    @get("/{file:str}", operation_id="fetchCalendarFeed", media_type=MEDIA_TYPE, opt=_FEED)
    async def fetch_feed(
        self, request: Request[Any, Any, State], file: FromPath[str]
    ) -> Response[bytes]:
        """Your events as iCalendar, by the secret URL alone (no `Authorization`)."""
        return await _feed(request, file)

    @head("/{file:str}", operation_id="checkCalendarFeed", media_type=MEDIA_TYPE, opt=_FEED)
    async def check_feed(
        self, request: Request[Any, Any, State], file: FromPath[str]
    ) -> Response[None]:
        """The feed's validators without its content (what a client checks first)."""
        answer = await _feed(request, file)
        headers = {**answer.headers, "Content-Length": str(len(answer.content or b""))}
        return Response(
            None, status_code=answer.status_code, headers=headers, media_type=MEDIA_TYPE
        )


async def _feed(request: Request[Any, Any, State], file: str) -> Response[bytes]:
    serving: Serving = request.app.state.serving
    token = file.removesuffix(SUFFIX)
    user_id = await serving.calendar_feeds.owner(token) if file.endswith(SUFFIX) else None
    if user_id is None:
        raise NotFoundException("no such calendar feed (unknown or revoked)")
    content = await serving.calendar_feed_view.feed(user_id)
    headers = {**CACHING, "ETag": entity_tag(content)}
    if matches(request.headers.get("If-None-Match"), headers["ETag"]):
        return Response(b"", status_code=304, headers=headers, media_type=MEDIA_TYPE)
    return Response(content, headers=headers, media_type=MEDIA_TYPE)


def feed_url(request: Request[Any, Any, Any], token: str) -> str:
    """The feed's absolute URL, on the scheme and host this request came by (behind a
    trusted proxy, its forwarded ones: ``PCEM_TRUSTED_PROXIES``)."""
    return f"{str(request.base_url).rstrip('/')}{FEEDS}/{token}{SUFFIX}"


def entity_tag(content: bytes) -> str:
    """A strong tag of the content: equal bytes, equal tag, whatever replica answers."""
    digest = hashlib.sha256(content).digest()[:18]
    return f'"{base64.urlsafe_b64encode(digest).decode()}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag`` (weak comparison, RFC 9110 13.1.2)."""
    if if_none_match is None:
        return False
    listed = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in listed or tag in listed
