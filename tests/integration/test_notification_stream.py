"""``GET /api/v1/notifications/stream`` over real HTTP (uvicorn), the real Redis and the
real ledger: in-app notifications as they are sent, resuming, keepalives, scoping,
and a client that leaves nothing behind.

Two servers: ``woken`` reads the ledger only when woken (its poll is a minute), so
what reaches it in time came through pub/sub; ``polling`` reads it five times a
second and keeps alive as often, so what reaches it came without any message.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import redis
from litestar import Controller, get

from pcem.notifications.in_app import inbox_channel
from pcem.processors.delivery import Delivery, RetryPolicy
from pcem.processors.providers.registry import providers_for
from pcem.settings import Settings
from pcem.wiring import Container, build_container
from tests.conftest import TokenFactory, serving
from tests.integration.api_helpers import bearer
from tests.integration.ledger_helpers import Ledger, now, publish
from tests.integration.projection_helpers import Database
from tests.integration.schedule_helpers import IN_APP, Calendar, utc
from tests.integration.sse_client import open_stream
from tests.polling import wait_until

TODAY = date(2027, 3, 1)
NOON = utc(2027, 3, 1, 12)
DUE = utc(2027, 3, 10, 8)  # 09:00 in Berlin


class TasksController(Controller):
    """How many tasks the server's event loop runs (only these tests have this route)."""

    path = "/api/v1/test-tasks"

    @get("/")
    async def tasks(self) -> int:
        return len(asyncio.all_tasks())


@pytest.fixture(scope="module")
def woken(settings: Settings) -> Iterator[str]:
    container = build_container(
        settings, pool_size=4, stream_poll_seconds=60.0, stream_keepalive_seconds=60.0
    )
    with serving(container, extra_routes=[TasksController]) as url:
        yield url
    container.close()


@pytest.fixture(scope="module")
def polling(settings: Settings) -> Iterator[str]:
    container = build_container(
        settings, pool_size=4, stream_poll_seconds=0.2, stream_keepalive_seconds=0.2
    )
    with serving(container) as url:
        yield url
    container.close()


@pytest.fixture
def ledger(container: Container) -> Ledger:
    return Ledger(container.engine)


@pytest.fixture
def pubsub(settings: Settings) -> Iterator[redis.Redis[bytes]]:
    client = redis.Redis.from_url(settings.require_redis().url)
    yield client
    client.close()


@pytest.fixture
def token(user_id: str, token_for: TokenFactory) -> str:
    return token_for(user_id)


def sent_in_app(ledger: Ledger, client: redis.Redis[bytes], user_id: str, **fields: Any) -> Any:
    """An in-app notification as the worker sends it: committed, then published."""
    notification = ledger.add(user_id, **fields)
    publish(client, user_id, notification)
    return notification


def test_a_notification_sent_after_connecting_arrives_at_once(
    woken: str, token: str, user_id: str, ledger: Ledger, pubsub: redis.Redis[bytes]
) -> None:
    with open_stream(woken, token, read_timeout=3) as stream:
        started = time.monotonic()
        notification = sent_in_app(ledger, pubsub, user_id)

        message = stream.next_event()

    assert time.monotonic() - started < 2  # woken by pub/sub: its poll is a minute
    assert message.event == "notification"
    body = message.notification
    assert (body["id"], body["status"], body["channel"]) == (str(notification), "sent", "in_app")
    assert body["sent_at"].endswith("Z")
    assert message.id


def test_a_wake_up_before_the_row_is_committed_still_brings_it_at_once(
    woken: str, token: str, user_id: str, ledger: Ledger, pubsub: redis.Redis[bytes]
) -> None:
    # The provider publishes, then the worker marks the row sent.
    with open_stream(woken, token, read_timeout=3) as stream:
        started = time.monotonic()
        notification = ledger.add(user_id, status="sending", sent_at=None)
        publish(pubsub, user_id, notification)
        time.sleep(0.2)
        ledger.mark_sent(notification, now())

        message = stream.next_event()

    assert message.notification["id"] == str(notification)
    assert time.monotonic() - started < 2


def test_without_a_pubsub_message_the_ledger_is_read_anyway(
    polling: str, token: str, user_id: str, ledger: Ledger
) -> None:
    with open_stream(polling, token) as stream:
        notification = ledger.add(user_id)  # no message: pub/sub lost it

        assert stream.next_event().notification["id"] == str(notification)


def test_what_was_sent_before_connecting_is_not_replayed(
    polling: str, token: str, user_id: str, ledger: Ledger
) -> None:
    ledger.add(user_id, due_at=now() - timedelta(minutes=1))

    with open_stream(polling, token) as stream:
        stream.comments_until("keepalive")
        later = ledger.add(user_id)

        assert stream.next_event().notification["id"] == str(later)


def test_a_client_resuming_with_last_event_id_gets_what_it_missed_in_order(
    polling: str, token: str, user_id: str, ledger: Ledger
) -> None:
    # given a client that saw the first notification, then lost its connection
    start = now()
    with open_stream(polling, token) as stream:
        first = ledger.add(user_id, due_at=start - timedelta(seconds=3))
        seen = stream.next_event()
        assert seen.notification["id"] == str(first)
    missed = [ledger.add(user_id, due_at=start - timedelta(seconds=s)) for s in (2, 1)]

    # when it reconnects with the id of the last event it saw
    with open_stream(polling, token, last_event_id=seen.id) as stream:
        resumed = [stream.next_event(), stream.next_event()]
        stream.comments_until("keepalive")  # and nothing more

    # then
    assert [m.notification["id"] for m in resumed] == [str(n) for n in missed]
    assert resumed[0].id != seen.id


def test_a_comment_keeps_a_quiet_stream_open(polling: str, token: str) -> None:
    with open_stream(polling, token, read_timeout=1) as stream:
        started = time.monotonic()
        stream.comments_until("keepalive")
        stream.comments_until("keepalive")

    assert time.monotonic() - started < 1.5


def test_a_stream_carries_only_its_users_notifications(
    woken: str,
    token: str,
    user_id: str,
    token_for: TokenFactory,
    ledger: Ledger,
    pubsub: redis.Redis[bytes],
) -> None:
    someone_else = f"other-{uuid.uuid4()}"
    with (
        open_stream(woken, token, read_timeout=3) as mine,
        open_stream(woken, token_for(someone_else), read_timeout=3) as theirs,
    ):
        for_them = sent_in_app(ledger, pubsub, someone_else)
        for_me = sent_in_app(ledger, pubsub, user_id)

        assert mine.next_event().notification["id"] == str(for_me)
        assert theirs.next_event().notification["id"] == str(for_them)
    ledger.add(user_id, channel="email")  # other channels never reach the stream


def test_one_sent_late_with_an_earlier_sent_at_still_arrives(
    polling: str, token: str, user_id: str, ledger: Ledger
) -> None:
    # Two workers: the one that started first commits last.
    start = now()
    with open_stream(polling, token) as stream:
        later = ledger.add(user_id, due_at=start)
        assert stream.next_event().notification["id"] == str(later)
        earlier = ledger.add(user_id, due_at=start - timedelta(seconds=2))

        message = stream.next_event()

    assert message.notification["id"] == str(earlier)


def test_one_sent_after_another_still_being_sent_waits_for_it(
    polling: str, token: str, user_id: str, ledger: Ledger
) -> None:
    # given a worker sending one (claimed at ``start``, which becomes its sent_at)
    start = now()
    in_flight = ledger.add(
        user_id, status="sending", sent_at=None, updated_at=start,
        lease_until=start + timedelta(minutes=1),
    )  # fmt: skip
    with open_stream(polling, token) as stream:
        # when another worker sends a later one first
        after = ledger.add(user_id, due_at=start + timedelta(seconds=1))
        stream.comments_until("keepalive")
        stream.comments_until("keepalive")  # it is held back
        ledger.mark_sent(in_flight, start)

        # then both come, in the order they were sent
        ids = [stream.next_event().notification["id"] for _ in range(2)]

    assert ids == [str(in_flight), str(after)]


def test_a_client_that_disconnects_leaves_no_task_or_subscription_behind(
    woken: str, token: str, user_id: str, pubsub: redis.Redis[bytes]
) -> None:
    def subscribers() -> int:
        [(_, count)] = pubsub.pubsub_numsub(inbox_channel(user_id))
        return int(count)

    def tasks() -> int:
        response = httpx.get(f"{woken}/api/v1/test-tasks", headers=bearer(token))
        return int(response.json())

    before = tasks()
    with open_stream(woken, token):
        assert subscribers() == 1
        assert tasks() > before
        assert "pcem_notification_streams_open 1.0" in _metrics(woken)

    wait_until(lambda: subscribers() == 0 and tasks() == before, 5, "the stream to be cleaned up")
    assert "pcem_notification_streams_open 0.0" in _metrics(woken)


def test_a_last_event_id_this_api_did_not_send_is_refused(
    polling: str, token: str, user_id: str, ledger: Ledger
) -> None:
    listed_cursor = _a_list_cursor(polling, token, user_id, ledger)
    for bad in ("not-an-id", listed_cursor):
        response = httpx.get(
            f"{polling}/api/v1/notifications/stream",
            headers={**bearer(token), "Last-Event-ID": bad},
        )

        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"] == [
            {"field": "Last-Event-ID", "message": "is not an event id this stream sent"}
        ]


def test_the_stream_needs_a_token(polling: str) -> None:
    response = httpx.get(f"{polling}/api/v1/notifications/stream")

    assert response.status_code == 401


def _a_list_cursor(url: str, token: str, user_id: str, ledger: Ledger) -> str:
    for _ in range(2):
        ledger.add(user_id)
    page = httpx.get(
        f"{url}/api/v1/notifications",
        params={"limit": 1},
        headers=bearer(token),
    ).json()
    return str(page["next_cursor"])


def _metrics(url: str) -> str:
    return httpx.get(f"{url}/metrics").text


def test_a_reminder_the_worker_delivers_in_app_arrives_on_the_open_stream(
    isolated: Settings, token_for: TokenFactory
) -> None:
    # given Ada's birthday, reminded on the day at 09:00 in Berlin, in-app only
    db = Database(isolated)
    cal = Calendar(db, TODAY)
    user = f"user-{uuid.uuid4()}"
    cal.prefer(user, NOON, timezone="Europe/Berlin", lead_time_days=(0,), channels=(IN_APP,))
    person = cal.person(user, NOON)
    cal.event(user, person, NOON, event_date=date(1990, 3, 10))
    [reminder] = cal.rows(user)
    api = build_container(isolated, pool_size=2, stream_poll_seconds=60.0)
    worker = build_container(isolated, role="worker", pool_size=2)
    providers = providers_for(isolated, worker.redis, worker.http)
    delivery = Delivery(worker.claims, providers, RetryPolicy())
    try:
        with serving(api) as url, open_stream(url, token_for(user), read_timeout=3) as stream:
            # when the scheduler ticks at the due time and a worker delivers it
            worker.ledger.tick(DUE)
            assert delivery.deliver(reminder.id, DUE) == "sent"

            # then
            body = stream.next_event().notification
    finally:
        api.close()
        worker.close()
        cal.close()
        db.close()
    assert (body["id"], body["status"], body["sent_at"]) == (
        str(reminder.id), "sent", "2027-03-10T08:00:00Z",
    )  # fmt: skip
    assert body["title"] == "Ada Lovelace's birthday is today"


def test_the_stream_ends_when_its_token_expires(
    polling: str, user_id: str, token_for: TokenFactory
) -> None:
    # A token that expired 27 s ago is still accepted for the 30 s of leeway: 2-3 s more
    # (exp is whole seconds), time enough to connect on a busy machine.
    expiring = token_for(user_id, ttl=timedelta(seconds=-27))
    started = time.monotonic()

    with open_stream(polling, expiring) as stream:
        stream.comments_until("the token has expired: reconnect with a new one and Last-Event-ID")
        with pytest.raises(EOFError):
            stream.next()

    assert time.monotonic() - started < 6  # at its expiry, not at the next keepalive
