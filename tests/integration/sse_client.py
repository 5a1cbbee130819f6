"""A client of ``GET /api/v1/notifications/stream`` over real HTTP, message by message."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

STREAM = "/api/v1/notifications/stream"


@dataclass
class Message:
    """One Server-Sent Events block: an event, or only comments."""

    event: str | None = None
    id: str | None = None
    data: str | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def notification(self) -> dict[str, Any]:
        assert self.event == "notification" and self.data is not None, self
        return dict(json.loads(self.data))


class EventStream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()

    def next(self) -> Message:
        """The next block; raises ``httpx.ReadTimeout`` if none comes in time."""
        message = Message()
        for line in self._lines:
            if not line:
                return message
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                message.comments.append(value)
            elif name == "data":
                message.data = value if message.data is None else f"{message.data}\n{value}"
            elif name in ("event", "id"):
                setattr(message, name, value)
        raise EOFError("the stream ended")

    def next_event(self, within: float = 5.0) -> Message:
        """The next block that is an event, past any comments (keepalives)."""
        deadline = time.monotonic() + within
        while (message := self.next()).event is None:
            assert time.monotonic() < deadline, f"no event within {within:g} s"
        return message

    def comments_until(self, comment: str) -> None:
        """Read on until that comment, failing on any event."""
        while comment not in (message := self.next()).comments:
            assert message.event is None, f"unexpected event {message}"


@contextmanager
def open_stream(
    url: str, token: str, *, last_event_id: str | None = None, read_timeout: float = 5.0
) -> Iterator[EventStream]:
    """A stream that has answered ``: connected`` (subscribed): nothing sent after is missed."""
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    with (
        httpx.Client(timeout=httpx.Timeout(5.0, read=read_timeout)) as client,
        client.stream("GET", url + STREAM, headers=headers) as response,
    ):
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = EventStream(response)
        assert stream.next().comments == ["connected"]
        yield stream
