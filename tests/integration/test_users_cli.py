"""`pcem users erase USER_ID` as an operator runs it, and run again after a crash."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date
from uuid import UUID

import pytest
from sqlalchemy import text

from pcem.settings import Settings
from pcem.wiring import Container, build_container
from tests.conftest import projector_running
from tests.integration.erasure_helpers import live_keys, rows_of
from tests.integration.projection_helpers import pcem_env
from tests.integration.test_cli import pcem
from tests.polling import wait_until

# Each test starts `pcem` as a process.
pytestmark = pytest.mark.slow

USER = "erased-user"
NEIGHBOUR = "neighbour"
PEOPLE = 6

# The erasure's work in a process of its own, one person a batch, killed outright
# (os._exit: no cleanup, no unlock) once its second batch of tombstones is written.
CRASHING_RUN = textwrap.dedent(
    """
    import os, sys
    from pcem.cli.common import current_settings
    from pcem.erasure.purge import Purges
    from pcem.wiring import build_container

    calls = []
    original = Purges.after_tombstones

    def after_tombstones(self, user_id, people):
        calls.append(1)
        if len(calls) == 2:
            os._exit(9)
        return original(self, user_id, people)

    Purges.after_tombstones = after_tombstones
    container = build_container(current_settings(), role="cli", pool_size=2)
    container.account_erasure.people_batch = 1
    erasure, _ = container.account_erasure.request(
        sys.argv[1], requested_by="bob", channel="cli"
    )
    container.account_erasure.run(erasure.id)
    """
)


@pytest.fixture
def container(isolated: Settings) -> Iterator[Container]:
    container = build_container(isolated, pool_size=4)
    with projector_running(container):
        yield container
    container.close()


def some_people(container: Container, user_id: str) -> list[UUID]:
    """People with a date each (each with its own key, as the mapper writes them)."""
    made = []
    for number in range(PEOPLE):
        person = container.people.create_person(user_id, first_name=f"Ada{number}").aggregate
        container.calendar.create_event(
            user_id, person.id, title="Birthday", event_date=date(1990, 6, 1)
        )
        made.append(person.id)
    return made


def erasure_row(container: Container, user_id: str) -> dict[str, object]:
    with container.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT requested_by, channel, state, people_purged FROM account_erasures"
                " WHERE user_id = :u"
            ),
            {"u": user_id},
        ).one()
    return dict(row._mapping)


def assert_erased(container: Container, user_id: str, people: list[UUID]) -> None:
    assert live_keys(container.engine, user_id) == set()
    assert all(container.people.is_erased(person_id) for person_id in people)


def caught_up(container: Container) -> None:
    head = container.people.recorder.max_notification_id() or 0
    wait_until(lambda: container.tracking.position("people_and_dates") >= head, 30, "the projector")


def test_an_operator_erases_a_user_and_the_erasure_is_recorded_with_their_name(
    isolated: Settings, container: Container
) -> None:
    people = some_people(container, USER)
    some_people(container, NEIGHBOUR)
    caught_up(container)
    neighbour_before = rows_of(container.engine, NEIGHBOUR)

    result = pcem("users", "erase", USER, "--operator", "alice", env=pcem_env(isolated))

    assert result.returncode == 0, result.stderr
    assert f"erased {USER}: {PEOPLE} people purged, {2 * PEOPLE} keys destroyed" in result.stdout
    assert erasure_row(container, USER) == {
        "requested_by": "alice",
        "channel": "cli",
        "state": "done",
        "people_purged": PEOPLE,
    }
    assert_erased(container, USER, people)
    caught_up(container)
    assert rows_of(container.engine, NEIGHBOUR) == neighbour_before
    assert {t for t, rows in rows_of(container.engine, USER).items() if rows} == {"subject_keys"}
    # Every replay meets the tombstones: a rebuild, then a verification, find nothing amiss.
    env = pcem_env(isolated)
    rebuilt = pcem("projections", "rebuild", "--all", env=env)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    verified = pcem("projections", "verify", "people_and_dates", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert rows_of(container.engine, NEIGHBOUR) == neighbour_before


def test_an_erasure_killed_midway_resumes_where_it_stopped_when_run_again(
    isolated: Settings, container: Container
) -> None:
    people = some_people(container, USER)
    caught_up(container)

    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_RUN, USER],
        env=pcem_env(isolated),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert crashed.returncode == 9, crashed.stderr
    midway = erasure_row(container, USER)
    assert midway["state"] == "erasing" and midway["people_purged"] == 1

    resumed = pcem("users", "erase", USER, "--operator", "alice", env=pcem_env(isolated))

    assert resumed.returncode == 0, resumed.stderr
    assert "asked by bob" in resumed.stdout  # the same erasure, not a second one
    assert erasure_row(container, USER)["state"] == "done"
    assert_erased(container, USER, people)
    caught_up(container)
    assert {t for t, rows in rows_of(container.engine, USER).items() if rows} == {"subject_keys"}
