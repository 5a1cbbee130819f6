"""PCEM as it is deployed on three hosts (tests/multihost.py): PostgreSQL and Redis
on one, `pcem api`, `projector`, `worker` and `scheduler` on each of two others.
Both APIs serve and read each other's writes; reminders go out once each with
both hosts' schedulers and workers running; then the first app host's cable is
pulled under load, and the second carries on: nothing acknowledged is lost, and
the reminders due after the cut go out once each, from the second host.

Reminders are due at whole local minutes, so the test waits up to about two
minutes of real time for them.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from psycopg.rows import namedtuple_row

from pcem.settings import Settings
from tests.e2e.fault_fixtures import tokens_for
from tests.e2e.notification_helpers import next_minute
from tests.integration.api_helpers import bearer
from tests.integration.receivers import Answer, Request, http_server
from tests.load import Load, Outcome
from tests.multihost import (
    APP_ENV,
    AppHost,
    Deployment,
    Throughput,
    budgeted,
    creates_per_second,
    deployment,
    merged,
    projector_hosts,
    runs_projections,
)
from tests.polling import wait_until
from tests.reliability import tally, verify_read_models

pytestmark = pytest.mark.slow

ZONE = ZoneInfo("Asia/Kathmandu")  # +05:45: the delivery time is read in the user's zone
PEOPLE = "/api/v1/people"
CLIENTS = 8  # the load's threads, split over the hosts it runs against
MEASURE_SECONDS = 4.0
REMINDED_USERS = 4  # per batch, half set up through each API
BIRTHDAYS = 2  # per reminded user: one webhook reminder each
LEASE_SECONDS = float(APP_ENV["PCEM_DELIVERY_LEASE_SECONDS"])
# How long a command on host 2 may wait after the cut: when it falls inside one of
# host 1's inserts, the event store's lock is held until PostgreSQL drops host 1's
# session (~15 s: pcem.database.connections.DEAD_CLIENT_OPTIONS), and every host's
# writes wait for it. A client of host 2 sees a slow answer, not an error.
CUT_WAIT_SECONDS = 30


@pytest.fixture
def pcem() -> Iterator[Deployment]:
    with deployment() as running:
        yield running


def test_a_second_app_host_shares_the_work_and_carries_on_when_the_first_is_cut_off(
    pcem: Deployment,
) -> None:
    first, second = pcem.apps
    tokens = tokens_for(pcem.settings, 20)
    lap = stopwatch()
    with http_server(lambda _: Answer(204), host=pcem.network.driver_address) as hook:
        read_your_writes(first, second, tokens)
        read_your_writes(second, first, tokens)
        due = next_minute(ZONE)
        before_cut = remind(pcem, due, hook.url, "early")
        after_cut = remind(pcem, due + timedelta(minutes=1), hook.url, "late")
        with budgeted(pcem.apps):  # each app host half a core: as if on cores of its own
            measured = [
                creates_per_second([first], tokens, CLIENTS, MEASURE_SECONDS, "one"),
                creates_per_second(pcem.apps, tokens, CLIENTS, MEASURE_SECONDS, "two"),
            ]
        lap(f"measured; waiting for the reminders due at {due:%H:%M}")
        wait_sent(pcem.settings, before_cut, due)
        lap("the early reminders sent")
        loads = [
            Load(
                app.url,
                tokens,
                CLIENTS // 2,
                seed=n,
                timeout=CUT_WAIT_SECONDS,
                name=f"{app.host.role}-",
            )
            for n, app in enumerate(pcem.apps)
        ]
        try:
            outcomes = cut_off_under_load(pcem, loads, due + timedelta(minutes=1))
            read_your_writes(second, second, tokens)  # the projections run on, on host 2
            lap("host 1 cut off; host 2 runs the projections")
            wait_sent(pcem.settings, after_cut, due + timedelta(minutes=1))
        finally:
            outcomes = [load.stop() for load in loads]
        deliveries = list(hook.requests)
        lap("the late reminders sent")

    report(measured)
    assert_delivered_once(pcem.settings, deliveries, before_cut | after_cut)
    assert_nothing_acknowledged_lost(pcem, tokens, [*(m.outcome for m in measured), *outcomes])
    assert_carried_on(outcomes[1])


def assert_carried_on(outcome: Outcome) -> None:
    """Host 2 answered everything: every command acknowledged; a read may have
    answered 503 only while host 2's projector was taking the projections over
    from host 1 (it waits 5 s for the user's position first, then says so)."""
    assert outcome.server_errors(allowed=frozenset({"503"})) == {}, outcome.statuses
    failed = {k: n for k, n in outcome.statuses.items() if k.startswith(("create", "update"))
              and not k.endswith((" 200", " 201"))}  # fmt: skip
    assert failed == {}, outcome.statuses


def stopwatch() -> Callable[[str], None]:
    """Prints each step with the seconds since the first: where the test's time goes."""
    started = time.monotonic()
    return lambda what: print(f"[{time.monotonic() - started:5.1f} s] {what}")


def read_your_writes(writer: AppHost, reader: AppHost, tokens: dict[str, str]) -> None:
    """A person created at ``writer`` is read at once at ``reader``: with the command's
    position as PCEM-Min-Position, and without (the user's position, in Redis)."""
    user, token = next(iter(tokens.items()))
    created = httpx.post(f"{writer.url}{PEOPLE}", json={"first_name": "Seen"},
                         headers=bearer(token), timeout=10)  # fmt: skip
    assert created.status_code == 201, created.text
    url = f"{reader.url}{PEOPLE}/{created.json()['id']}"
    waited = {**bearer(token), "PCEM-Min-Position": created.headers["PCEM-Position"]}
    for headers in (waited, bearer(token)):
        read = httpx.get(url, headers=headers, timeout=10)
        assert (read.status_code, read.json()) == (200, created.json()), (user, read.text)


def remind(pcem: Deployment, due: datetime, hook_url: str, batch: str) -> set[str]:
    """Users with BIRTHDAYS birthdays on ``due``'s local date, each reminded at ``due``
    over a webhook of their own; set up through each API in turn. Their ids."""
    tokens = tokens_for(pcem.settings, REMINDED_USERS, prefix=f"{batch}-{secrets.token_hex(3)}")
    for n, (user, token) in enumerate(sorted(tokens.items())):
        with httpx.Client(base_url=pcem.apps[n % len(pcem.apps)].url, timeout=10,
                          headers=bearer(token)) as api:  # fmt: skip
            settings = {
                "timezone": ZONE.key,
                "notifications": {
                    "lead_time_days": [0], "delivery_time": f"{due:%H:%M}",
                    "channels": [{"type": "webhook", "url": f"{hook_url}/{user}",
                                  "secret": "s" * 24}],
                },
            }  # fmt: skip
            assert api.put("/api/v1/me/settings", json=settings).status_code == 200
            for _ in range(BIRTHDAYS):
                birthday(api, due)
    return set(tokens)


def birthday(api: httpx.Client, due: datetime) -> None:
    person = api.post(PEOPLE, json={"first_name": "Zoë", "last_name": "Ångström"})
    assert person.status_code == 201, person.text
    event = {
        "person_id": person.json()["id"], "title": "Birthday",
        "event_date": f"1990-{due:%m-%d}", "is_special_event": True, "recurrence": "yearly",
    }  # fmt: skip
    created = api.post("/api/v1/events", json=event)
    assert created.status_code == 201, created.text


def ledger(settings: Settings, users: set[str]) -> list[Any]:
    with psycopg.connect(settings.require_database().url, row_factory=namedtuple_row) as conn:
        return conn.execute(
            "SELECT id, user_id, status, attempts, sent_at FROM notifications"
            " WHERE user_id = ANY(%s)",
            [sorted(users)],
        ).fetchall()


def wait_sent(settings: Settings, users: set[str], due: datetime) -> None:
    """Until every reminder of ``users`` is sent: bounded by its due time, a lease
    (what a host cut off held goes out again after it) and a minute to spare."""
    expected = len(users) * BIRTHDAYS
    wait_until(
        lambda: sum(row.status == "sent" for row in ledger(settings, users)) == expected,
        timeout=(due - datetime.now(ZONE)).total_seconds() + LEASE_SECONDS + 60,
        what=f"{expected} reminders due at {due:%H:%M} to be sent",
    )


def cut_off_under_load(pcem: Deployment, loads: list[Load], next_due: datetime) -> list[Outcome]:
    """Both hosts under load; host 1's cable pulled; the load on host 2 goes on."""
    for load in loads:
        load.start()
    wait_until(lambda: all(acknowledged(load) >= 20 for load in loads), 60, "load on both hosts")
    print(f"\nprojections run by {projector_hosts(pcem.settings)} before the cut")
    # The later reminders are not yet due: none of them can be in host 1's hands.
    assert datetime.now(ZONE) < next_due - timedelta(seconds=5), "the cut came too late"
    pcem.network.cut("app1")
    cut_at = acknowledged(loads[1])
    wait_until(lambda: acknowledged(loads[1]) >= cut_at + 50, 60, "host 2 to go on acknowledging")
    # PostgreSQL drops host 1's sessions, and with them its projector's locks, once
    # they stop answering (pcem.database.connections.DEAD_CLIENT_OPTIONS: ~15 s).
    wait_until(lambda: runs_projections(pcem.settings, pcem.apps[1]), 60,
               "host 2's projector to take the projections over")  # fmt: skip
    print(f"projections run by {projector_hosts(pcem.settings)} after the cut")
    return [load.outcome for load in loads]


def acknowledged(load: Load) -> int:
    with load.outcome.lock:
        return len(load.outcome.acknowledged)


def assert_delivered_once(settings: Settings, deliveries: list[Request], users: set[str]) -> None:
    """Every reminder sent, each arrived exactly once, at its own user's hook."""
    rows = ledger(settings, users)
    assert len(rows) == len(users) * BIRTHDAYS, rows
    assert all(row.status == "sent" for row in rows), rows
    arrived = Counter((r.path, r.headers["webhook-id"]) for r in deliveries)
    assert arrived == Counter({(f"/{row.user_id}", str(row.id)): 1 for row in rows})


def assert_nothing_acknowledged_lost(
    pcem: Deployment, tokens: dict[str, str], outcomes: list[Outcome]
) -> None:
    """Each acknowledged command stored once, where it was answered; each person
    created readable through host 2; the read models equal a fresh rebuild."""
    whole = merged(*outcomes)
    counted = tally(pcem.settings, whole)
    assert (counted.lost, counted.duplicated, counted.misplaced) == ([], [], []), counted
    print(counted.summary())
    created = {person_id for person_id, version in whole.acknowledged.values() if version == 1}
    assert created <= people_at(pcem.apps[1], tokens), "a created person is missing"
    verify_read_models(pcem.settings)


def people_at(app: AppHost, tokens: dict[str, str]) -> set[str]:
    seen: set[str] = set()
    for token in tokens.values():
        cursor = None
        while True:
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = httpx.get(f"{app.url}{PEOPLE}", params=params, headers=bearer(token), timeout=10)
            assert page.status_code == 200, page.text
            seen |= {person["id"] for person in page.json()["items"]}
            if not (cursor := page.json()["next_cursor"]):
                break
    return seen


def report(measured: list[Throughput]) -> None:
    for throughput in measured:
        print(throughput.summary())
