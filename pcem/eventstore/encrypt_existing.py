"""Sealing what was stored in clear before encryption (``pcem events encrypt``).

Batch after batch, in position order, each in one committed transaction: the clear
events of the batch are decoded, their subjects get a key if they have none (the
row inserted in the same transaction; of two runs at once, the first key stays and
the other run uses it), and each state is rewritten sealed, only if it is still
clear. A subject erased while its events were still in clear has its events sealed
under a key that is never kept: they then read as erased. A run that is stopped
loses at most its open batch: the next one finds the events still in clear and goes
on. While it runs, readers meet either form and decode both. Events of classes marked
``stored_in_clear`` stay clear.

Processes that cached a subject as keyless may still append a clear event to it for
``KEY_TTL_SECONDS`` after its key is made: a run therefore passes over the store
again until a pass finds nothing left to seal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent

from pcem.eventstore.sealing import SEPARATOR, SealingMapper, person_of

# A clear state does not hold the separator (a NUL byte): `position(separator in state)`.
SELECT_CLEAR = (
    "SELECT notification_id, originator_id, originator_version, topic, state FROM pcem_events"
    " WHERE notification_id > %s AND position(%s::bytea in state) = 0"
    " ORDER BY notification_id LIMIT %s"
)
SELECT_FIRST_EVENTS = (
    "SELECT originator_id, originator_version, topic, state FROM pcem_events"
    " WHERE originator_id = ANY(%s) AND originator_version = 1"
)
SELECT_KEYS = "SELECT subject_id, wrapped_key FROM subject_keys WHERE subject_id = ANY(%s)"
INSERT_KEY = (
    "INSERT INTO subject_keys (subject_id, user_id, person_id, wrapped_key)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (subject_id) DO NOTHING"
)
UPDATE_SEALED = (
    "UPDATE pcem_events e SET state = v.state"
    " FROM unnest(%s::bigint[], %s::bytea[]) AS v(id, state)"
    " WHERE e.notification_id = v.id AND position(%s::bytea in e.state) = 0"
)
DEFAULT_BATCH = 1000

Progress = Callable[[int, int], None]  # (position reached, events sealed so far)


@dataclass
class Pass:
    position: int = 0
    sealed: int = 0


class ClearEvents:
    def __init__(self, database_url: str, mapper: Mapper[Any]) -> None:
        if not isinstance(mapper, SealingMapper):
            raise TypeError("sealing needs the sealing mapper")
        self.database_url = database_url
        self.mapper = mapper

    def seal_all(self, batch: int = DEFAULT_BATCH, progress: Progress | None = None) -> int:
        """Seal every clear event; how many were sealed (0: none was left)."""
        total = 0
        with psycopg.connect(self.database_url, application_name="pcem events encrypt") as conn:
            while True:
                done = self._one_pass(conn, batch, progress)
                total += done.sealed
                if done.sealed == 0:
                    return total

    def _one_pass(
        self, conn: psycopg.Connection[Any], batch: int, progress: Progress | None
    ) -> Pass:
        done = Pass()
        while True:
            with conn.transaction():
                rows = conn.execute(SELECT_CLEAR, (done.position, SEPARATOR, batch)).fetchall()
                if not rows:
                    return done
                done.sealed += self._seal(conn, rows)
            done.position = int(rows[-1][0])
            if progress:
                progress(done.position, done.sealed)

    def _seal(self, conn: psycopg.Connection[Any], rows: Sequence[tuple[Any, ...]]) -> int:
        events = {row[0]: self.mapper.to_domain_event(_stored(row[1:])) for row in rows}
        to_seal = {
            n: e for n, e in events.items() if not getattr(type(e), "stored_in_clear", False)
        }
        keys = self._keys(conn, {e.originator_id: e for e in to_seal.values()})
        sealed = [
            self.mapper.seal(
                event.originator_id,
                event.originator_version,
                _fields(event),
                keys[event.originator_id],
                getattr(type(event), "class_version", 1),
            )
            for event in to_seal.values()
        ]
        if to_seal:
            conn.execute(UPDATE_SEALED, (list(to_seal), sealed, SEPARATOR))
        return len(to_seal)

    def _keys(self, conn: psycopg.Connection[Any], subjects: dict[UUID, Any]) -> dict[UUID, AESGCM]:
        """Each subject's key, made (in this transaction) for those without one."""
        ids = list(subjects)
        existing = {s for s, _ in conn.execute(SELECT_KEYS, (ids,)).fetchall()}
        missing = [s for s in ids if s not in existing]
        if missing:
            people = self._people_of(conn, missing)
            new = [
                self.mapper.keys.create(s, subjects[s].user_id, people.get(s))[1] for s in missing
            ]
            with conn.cursor() as cursor:
                cursor.executemany(
                    INSERT_KEY, [(k.subject_id, k.user_id, k.person_id, k.wrapped_key) for k in new]
                )
        master = self.mapper.keys.master
        opened = {}
        for subject_id, wrapped in conn.execute(SELECT_KEYS, (ids,)).fetchall():
            if wrapped is None:
                # Erased while its events were still in clear: sealed under a key that is
                # never kept, they read as erased, as the erasure meant.
                opened[subject_id] = AESGCM(AESGCM.generate_key(bit_length=256))
            else:
                opened[subject_id] = AESGCM(master.unwrap(subject_id, bytes(wrapped)))
                self.mapper.keys.remember([(subject_id, opened[subject_id])])
        return opened

    def _people_of(self, conn: psycopg.Connection[Any], subjects: list[UUID]) -> dict[UUID, UUID]:
        """The person each subject is erased with, from its first (clear) event."""
        people = {}
        for row in conn.execute(SELECT_FIRST_EVENTS, (subjects,)).fetchall():
            first = self.mapper.to_domain_event(_stored(row))
            state = dict(vars(first))
            if (person := person_of(state.pop("originator_id"), state)) is not None:
                people[first.originator_id] = person
        return people


def _stored(row: Sequence[Any]) -> StoredEvent:
    originator_id, version, topic, state = row
    return StoredEvent(originator_id, version, topic, bytes(state))


def _fields(event: Any) -> dict[str, Any]:
    state = dict(vars(event))
    del state["originator_id"], state["originator_version"]
    return state
