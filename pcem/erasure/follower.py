"""The tombstones' follower: what acts on an erasure beyond the read models.

It follows the event store like a projection (a position of its own, saved in the
transaction of its effects, one runner at a time across projectors), but it is
not one: it owns no read table and is never rebuilt. For each tombstone it destroys
the subject's keys again, blanks the ledger's copies and removes the idempotency
records - all safe to repeat, so a purge whose command died after its tombstone
still completes, and a follower killed midway resumes.

It stays behind ``people_and_dates``: once that projection has applied a purge, the
person's reminders have left the schedule and no tick can make a notification of
them any more, so blanking the ledger then leaves nothing behind.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import Connection

from pcem.aggregates.event import CalendarEvent
from pcem.aggregates.person import Person
from pcem.aggregates.settings import UserSettings
from pcem.commands.people import PeopleApplication
from pcem.erasure.effects import ErasureEffects
from pcem.projections.base import Projection
from pcem.projections.catalog import PEOPLE_AND_DATES
from pcem.projector.batches import BatchResult
from pcem.projector.runner import ProjectionRunner

FOLLOWER = "erasure-effects"


class ErasureFollower(Projection):
    name = FOLLOWER

    def __init__(self, effects: ErasureEffects, people: PeopleApplication) -> None:
        self.effects = effects
        self.people = people

    @singledispatchmethod
    def process_event(self, event: Any, conn: Connection) -> None:
        """Only tombstones are followed."""

    @process_event.register
    def _person_purged(self, event: Person.Purged, conn: Connection) -> None:
        full_name = self._name_before(event)  # while the key may still open it
        if full_name:
            self.effects.forget_name(conn, event.user_id, full_name)
        self.effects.forget_subject(conn, event.user_id, event.originator_id)
        self.effects.destroy_keys(event.user_id, event.originator_id)

    @process_event.register
    def _entry_purged(self, event: CalendarEvent.PurgedWithPerson, conn: Connection) -> None:
        self.effects.forget_subject(conn, event.user_id, event.originator_id)
        self.effects.destroy_keys(event.user_id, event.originator_id)

    @process_event.register
    def _account_erased(self, event: UserSettings.AccountErased, conn: Connection) -> None:
        # The rest of an account is the erasure's own work (pcem.erasure.accounts):
        # it alone knows where the erased account ends and the next one begins.
        self.effects.destroy_keys(event.user_id, event.originator_id)

    def _name_before(self, event: Person.Purged) -> str:
        """The person's name just before the purge, if their events can still be read
        (the purge's command died before destroying the key); "" once they cannot."""
        try:
            person: object = self.people.repository.get(
                event.originator_id, version=event.originator_version - 1
            )
        except AggregateNotFoundError:
            return ""
        return f"{getattr(person, 'first_name', '')} {getattr(person, 'last_name', '')}".strip()


class BehindRunner(ProjectionRunner):
    """Runs the follower no further than ``people_and_dates`` has got."""

    def apply_next(self) -> BatchResult:
        upto = self.tracking.position(PEOPLE_AND_DATES)
        return self.batches.apply_batch(self.track, self.batch_size, upto)
