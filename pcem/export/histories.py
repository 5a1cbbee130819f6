"""Records' histories from the event store, in the export's snapshot.

The event store has no user column a row-level policy could use, and ``pcem_api``
may not read it, so the stored events are read as the connection's own role
(``StreamingSnapshot.as_owner``), in the same snapshot as the rows: by the ids of the
user's own rows (read under row-level security just before), each up to the version
its row shows, so a history ends where its record does. Each decoded event's owner is
then checked, the one user filter of the event store's reads. Decoded by the
application's mapper, as every read of the store: an erased event shows its type, time
and actor only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from pcem.commands.history import AuditEntry, audit_entry
from pcem.database.row_security import Row, StreamingSnapshot
from pcem.eventstore.sealing import prefetch_keys

STORED_EVENTS = (
    "SELECT e.originator_id, e.originator_version, e.topic, e.state"
    " FROM unnest(%(ids)s::uuid[], %(versions)s::bigint[]) AS r(id, version)"
    " JOIN pcem_events e ON e.originator_id = r.id AND e.originator_version <= r.version"
    " ORDER BY e.originator_id, e.originator_version"
)

Histories = dict[UUID, list[AuditEntry]]


class ForeignEventError(Exception):
    """A stored event of another user among a user's records: never exported."""


async def stored_events(
    snapshot: StreamingSnapshot, records: Sequence[tuple[UUID, int]]
) -> list[Row]:
    """The stored events of ``records`` (id, version), each up to its version."""
    if not records:
        return []
    ids, versions = zip(*records, strict=True)
    return await snapshot.as_owner((STORED_EVENTS, {"ids": list(ids), "versions": list(versions)}))


def decoded(rows: list[Row], mapper: Mapper[Any], user_id: str) -> Histories:
    """Each record's history: its stored events as ``AuditEntry``, oldest first (CPU
    work: the export runs it off the event loop)."""
    found: Histories = defaultdict(list)
    prefetch_keys(mapper, ((row[0], row[3]) for row in rows))  # one query, not one a record
    for originator_id, version, topic, state in rows:
        stored = StoredEvent(
            originator_id=originator_id, originator_version=version, topic=topic, state=state
        )
        event = mapper.to_domain_event(stored)
        if getattr(event, "user_id", None) != user_id:
            raise ForeignEventError(f"event {version} of {originator_id} is not the user's")
        found[originator_id].append(audit_entry(event))  # type: ignore[arg-type]
    return found
