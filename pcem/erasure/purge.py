"""Purging a person: the tombstones, then at once what depends on reading them.

Order matters, and each step is safe to repeat: the tombstones first (after them no
read answers the person, whatever else fails); then what needs the person's name
(an import's problems naming them) while their events can still be read; then the
idempotency records and the ledger; then their keys. The follower
(``pcem.erasure.follower``) does all of it again from the tombstone, so a command
that died halfway converges.
"""

from __future__ import annotations

from uuid import UUID

import structlog

from pcem.aggregates.person import Person
from pcem.commands.base import Written
from pcem.commands.people import PeopleApplication
from pcem.erasure.effects import ErasureEffects

log = structlog.get_logger(__name__)


class Purges:
    def __init__(self, people: PeopleApplication, effects: ErasureEffects) -> None:
        self.people = people
        self.effects = effects

    def person(self, user_id: str, person_id: UUID, *, actor: str) -> Written[Person]:
        """Erase one of the user's people for good (deleted or not); another user's,
        an unknown or an already purged one is not found."""
        written = self.people.purge_person(user_id, person_id, actor=actor)
        self.after_tombstones(user_id, [written.aggregate])
        log.info("person.purged", user_id=user_id, person_id=str(person_id))
        return written

    def after_tombstones(self, user_id: str, people: list[Person]) -> int:
        """What follows the tombstones of ``people`` (as they were loaded to write them);
        how many keys it destroyed."""
        with self.effects.engine.begin() as conn:
            for person in people:
                self.effects.forget_name(conn, user_id, f"{person.first_name} {person.last_name}")
                for subject_id in (person.id, *person.recorded_event_ids):
                    self.effects.forget_subject(conn, user_id, subject_id)
        return sum(self.effects.destroy_keys(user_id, person.id) for person in people)
