"""Erasing an account: asked for at once, done in bounded steps that resume.

``request`` records the erasure (with the message that starts its work) and writes
the account's tombstone on its settings, so the answer (202) never waits for the
work. ``run`` (the worker's task, or ``pcem users erase``) then, each step committed
and recorded before the next:

1. waits until ``people_and_dates`` holds everything written before the request;
2. writes the account's tombstone again if the request died before it did;
3. purges the user's people in batches (``Purges``), in id order from where the
   last batch stopped: what the account holds when the batch reaches it, things
   made while the erasure runs included;
4. destroys the user's remaining keys, a batch at a time;
5. once the projection has applied every tombstone (their reminders have left the
   schedule), blanks the ledger and removes imports, the calendar feed and
   idempotency records (``ErasureEffects.forget_account``), and marks it done.

Killed anywhere, it is run again (the tick sends it again, or the operator reruns
the command) and resumes: each step finds its work done or does it again.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import text

from pcem.aggregates.ownership import SYSTEM_ACTOR
from pcem.commands.people import PeopleApplication
from pcem.commands.settings import SettingsApplication
from pcem.erasure.effects import ErasureEffects
from pcem.erasure.purge import Purges
from pcem.erasure.requests import AccountErasures, Erasure
from pcem.projections.catalog import PEOPLE_AND_DATES
from pcem.projector.tracking import ProjectionTracking

PEOPLE_BATCH = 50
KEYS_BATCH = 1000
PROJECTION_WAIT_SECONDS = 30.0  # then the run stops; the tick sends it again
_POLL_SECONDS = 0.1

NEXT_PEOPLE = text(
    "SELECT id FROM people WHERE user_id = :user_id AND id > :after ORDER BY id LIMIT :limit"
)


class AccountErasure:
    def __init__(
        self,
        erasures: AccountErasures,
        people: PeopleApplication,
        settings: SettingsApplication,
        purges: Purges,
        tracking: ProjectionTracking,
        *,
        people_batch: int = PEOPLE_BATCH,
    ) -> None:
        self.erasures = erasures
        self.people = people
        self.settings = settings
        self.purges = purges
        self.tracking = tracking
        self.people_batch = people_batch

    @property
    def effects(self) -> ErasureEffects:
        return self.purges.effects

    def request(self, user_id: str, *, requested_by: str, channel: str) -> tuple[Erasure, int]:
        """Record the erasure and write the account's tombstone (the work follows); the
        erasure, and the tombstone's position (0: written by an earlier request)."""
        erasure = self.erasures.request(
            user_id, requested_by=requested_by, channel=channel, now=datetime.now(UTC)
        )
        actor = _actor(erasure)
        return erasure, self.settings.erase_account(user_id, erasure.erased_generation, actor=actor)

    def run(self, erasure_id: UUID) -> str:
        """Run (or resume) the erasure; what became of it, for the log."""
        with self.erasures.held(erasure_id) as held:
            if not held:
                return "running elsewhere"
            erasure = self.erasures.load(erasure_id)
            if erasure is None or erasure.state == "done":
                return "nothing to do"
            if not self._projected(erasure.head_position):
                return "waiting for the projection"
            actor = _actor(erasure)
            position = self.settings.erase_account(
                erasure.user_id, erasure.erased_generation, actor=actor
            )
            self.erasures.keys_destroyed(erasure.id, 0, position)
            self._purge_people(erasure, actor)
            self._destroy_keys(erasure)
            erasure = self.erasures.load(erasure_id) or erasure
            if not self._projected(erasure.tombstones_position):
                return "waiting for the projection"
            self.effects.forget_account(erasure.user_id)
            self.erasures.finish(erasure)
            return "done"

    def _purge_people(self, erasure: Erasure, actor: str) -> None:
        after = erasure.people_cursor or UUID(int=0)
        while ids := self._next_people(erasure.user_id, after):
            position, purged = self.people.purge_people(erasure.user_id, ids, actor=actor)
            keys = self.purges.after_tombstones(erasure.user_id, purged)
            self.erasures.people_purged(
                erasure.id, ids[-1], purged=len(purged), keys=keys, position=position
            )
            after = ids[-1]

    def _next_people(self, user_id: str, after: UUID) -> list[UUID]:
        params = {"user_id": user_id, "after": after, "limit": self.people_batch}
        with self.erasures.engine.connect() as conn:
            return list(conn.execute(NEXT_PEOPLE, params).scalars())

    def _destroy_keys(self, erasure: Erasure) -> None:
        while destroyed := self.effects.keys.destroy_user(erasure.user_id, limit=KEYS_BATCH):
            self.erasures.keys_destroyed(erasure.id, destroyed)

    def _projected(self, position: int) -> bool:
        """Whether ``people_and_dates`` reaches ``position`` (waiting a bounded while)."""
        deadline = time.monotonic() + PROJECTION_WAIT_SECONDS
        while self.tracking.position(PEOPLE_AND_DATES) < position:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_SECONDS)
        return True


def _actor(erasure: Erasure) -> str:
    """Who the tombstones name: the user who asked, or ``system`` for an operator's
    erasure (whose name the erasure's row and the log keep)."""
    return erasure.requested_by if erasure.channel == "api" else SYSTEM_ACTOR
