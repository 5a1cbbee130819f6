"""A user's reminders and the process manager's plain functions, on the real database
with a real webhook receiver: the ledger's tick, the outbox relay and a delivery.

A birthday on Wednesday 10 March (1990, yearly), the user in Berlin, one
reminder on the day at 09:00 local (08:00 UTC) over a webhook.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar.testing import TestClient

from pcem.api.app import create_app
from pcem.notifications.inbox import NotificationDetail
from pcem.notifications.ledger import Ledger
from pcem.processors.delivery import Delivery, RetryPolicy
from pcem.processors.providers.registry import providers_for
from pcem.processors.relay import Relay
from pcem.settings import Settings
from pcem.wiring import Container, build_container
from tests.conftest import projector_running
from tests.integration.api_helpers import served
from tests.integration.projection_helpers import Database
from tests.integration.receivers import Answer, HttpServer, Request, http_server
from tests.integration.schedule_helpers import Calendar, utc

USER = "pm-user"
TODAY = date(2027, 3, 1)
NOON = utc(2027, 3, 1, 12)
DUE = utc(2027, 3, 10, 8)  # 09:00 in Berlin
SECRET = "a-webhook-secret-of-the-user"
PREFERENCES = {"timezone": "Europe/Berlin", "lead_time_days": (0,)}


def inbox_get(container: Container, notification_id: UUID) -> NotificationDetail | None:
    """The notification as the user reads it (``GET /notifications/{id}``'s view)."""
    return served(container, lambda serving: serving.inbox.get(USER, notification_id))


HOOK = "/hook"


@dataclass
class Receiver:
    """Answers ``status`` (a test may change it) to every delivery to ``HOOK``, and 404
    to one anywhere else, as a real receiver given a wrong URL."""

    status: int = 204

    def __call__(self, request: Request) -> Answer:
        return Answer(self.status if request.path == HOOK else 404)


@dataclass
class World:
    cal: Calendar
    container: Container
    receiver: Receiver
    server: HttpServer
    ledger: Ledger
    delivery: Delivery
    published: list[tuple[str, UUID]] = field(default_factory=list)

    @property
    def relay(self) -> Relay:
        return Relay(self.container.engine, lambda task, id_: self.published.append((task, id_)))

    def tick(self, at: datetime, queued: int = 0) -> list[UUID]:
        """A scheduler tick then the relay, as the tick task runs them: what was handed out.
        ``queued``: the delivery messages the broker still holds (none: it kept nothing)."""
        self.published.clear()
        self.ledger.tick(at, queued=lambda: queued)
        self.relay.relay()
        return [notification_id for _, notification_id in self.published]

    def status(self, notification_id: UUID) -> Any:
        detail = inbox_get(self.container, notification_id)
        assert detail is not None
        return detail

    def webhook_at(self, path: str, at: datetime, **preferences: Any) -> None:
        """The user saves their settings with the webhook at ``path`` of the receiver,
        the rest as the fixture's unless ``preferences`` say, and the projector applies
        them."""
        webhook = {"type": "webhook", "url": self.server.url + path, "secret": SECRET}
        self.cal.prefer(USER, at, **{**PREFERENCES, "channels": (webhook,), **preferences})
        self.cal.catch_up()


def world_of(isolated: Settings) -> Iterator[World]:
    """The world of a test's ``world`` fixture (each test module declares its own)."""
    db = Database(isolated)
    cal = Calendar(db, TODAY)
    container = build_container(isolated, role="worker", pool_size=2)
    receiver = Receiver()
    with http_server(receiver) as server:
        ledger = Ledger(container.engine, lease=timedelta(seconds=60))
        providers = providers_for(isolated, container.redis, container.http)
        retries = RetryPolicy(max_retries=3, backoff=timedelta(seconds=60))
        delivery = Delivery(container.claims, providers, retries)
        world = World(cal, container, receiver, server, ledger, delivery)
        world.webhook_at(HOOK, NOON - timedelta(hours=1))
        yield world
    container.close()
    cal.close()
    db.close()


@contextmanager
def api_of(isolated: Settings) -> Iterator[TestClient[Any]]:
    """The HTTP API on the world's database, in-process (its container closes with it)."""
    with TestClient(create_app(build_container(isolated, pool_size=2))) as client:
        yield client


@contextmanager
def projected_api_of(isolated: Settings) -> Iterator[TestClient[Any]]:
    """The API and a projector on a database of their own: a test there may move what a
    shared database must keep (the occurrence horizon), or need today's."""
    with api_of(isolated) as client, projector_running(client.app.state.container):
        yield client


def birthday(world: World) -> UUID:
    person = world.cal.person(USER, NOON, first_name="Anna")
    world.cal.event(USER, person, NOON, event_date=date(1990, 3, 10))
    [row] = world.cal.rows(USER)
    assert (row.due_at, row.status) == (DUE, "scheduled")
    return UUID(str(row.id))
