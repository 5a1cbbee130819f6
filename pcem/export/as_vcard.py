"""The vCard export: every live person, one card each (``pcem.contacts.vcard_out``).

One statement gives each person with what their card tells besides their own row:
their birthday and anniversary (the date of their first live special yearly all-day
event titled so, as the import makes them) and their live relationships.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from uuid import UUID

from pcem.contacts.model import DATE_TITLES
from pcem.contacts.vcard_out import CardPerson, card
from pcem.database.row_security import Row
from pcem.export.run import BATCH, ExportRun

_DATE_OF = (
    "(SELECT e.event_date FROM events e WHERE e.user_id = p.user_id AND e.person_id = p.id"
    " AND e.title = %({kind})s AND e.is_special_event AND e.all_day"
    " AND e.recurrence = 'yearly' AND e.deleted_at IS NULL AND NOT e.hidden"
    " ORDER BY e.created_at, e.id LIMIT 1)"
)
_RELATED = (
    "(SELECT coalesce(jsonb_agg(jsonb_build_array(r.type, r.target_id)"
    " ORDER BY r.created_at, r.id), '[]') FROM relationships r"
    " JOIN people t ON t.id = r.target_id AND t.user_id = p.user_id AND t.deleted_at IS NULL"
    " WHERE r.user_id = p.user_id AND r.source_id = p.id)"
)
PEOPLE = (
    "SELECT p.id, p.first_name, p.last_name, p.primary_contact, p.metadata,"  # noqa: S608
    f" {_DATE_OF.format(kind='birthday')}, {_DATE_OF.format(kind='anniversary')}, {_RELATED}"
    " FROM people p WHERE p.user_id = %(user_id)s AND p.deleted_at IS NULL"
    " ORDER BY p.last_name, p.first_name, p.id"
)


async def as_vcard(run: ExportRun) -> AsyncIterator[bytes]:
    params = {
        **run.params,
        "birthday": DATE_TITLES["birthday"],
        "anniversary": DATE_TITLES["anniversary"],
    }
    async for rows in run.snapshot.batches((PEOPLE, params), BATCH):
        yield await run.off_the_loop(_cards, rows)


def _cards(rows: Sequence[Row]) -> bytes:
    return "".join(card(_person(row)) for row in rows).encode()


def _person(row: Row) -> CardPerson:
    person_id, first, last, contact, metadata, birthday, anniversary, related = row
    relations = tuple((kind, UUID(target)) for kind, target in related)  # jsonb: text ids
    return CardPerson(person_id, first, last, contact, metadata, birthday, anniversary, relations)
