"""PCEM's applications on eventsourcing's in-memory persistence (POPO): no database.

In production every application writes to the one event store. Here the people,
calendar and settings applications share one in-memory application recorder, so
what one writes the others read (a person's calendar events are hidden with them),
and positions are global, as in PostgreSQL. Events still go through PCEM's own
transcoder (``PcemApplication.construct_transcoder``) on their way in and out.

Idempotency records ride along with the events as in production, but the
in-memory recorder ignores them: replaying a keyed request needs PostgreSQL and
is tested in tests/integration/test_idempotency.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.popo import POPOApplicationRecorder

from pcem.commands.base import PcemApplication
from pcem.commands.calendar import CalendarApplication
from pcem.commands.people import PeopleApplication
from pcem.commands.settings import SettingsApplication

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}

App = TypeVar("App", bound=PcemApplication)


@dataclass(frozen=True)
class InMemoryPcem:
    people: PeopleApplication
    calendar: CalendarApplication
    settings: SettingsApplication
    recorder: ApplicationRecorder

    def another(self, kind: type[App]) -> App:
        """One more application on this store: another process writing to it."""
        return on(self.recorder, kind)


def in_memory_pcem() -> InMemoryPcem:
    recorder = POPOApplicationRecorder()
    return InMemoryPcem(
        people=on(recorder, PeopleApplication),
        calendar=on(recorder, CalendarApplication),
        settings=on(recorder, SettingsApplication),
        recorder=recorder,
    )


def on(recorder: ApplicationRecorder, kind: type[App]) -> App:
    """An application of ``kind`` whose event store is ``recorder``."""

    class Sharing(kind):  # type: ignore[valid-type,misc]
        def construct_recorder(self) -> ApplicationRecorder:
            return recorder

    app: App = Sharing(env=IN_MEMORY)
    return app
