"""The outbox relay: what the ledger wrote for the broker, published.

A message is deleted from the outbox in the transaction that published it; if
publishing fails (the broker is down), the transaction rolls back and the next
relay publishes it again. A crash between publishing and committing publishes
it twice, which the worker's conditional claim makes harmless: no message is
ever lost, and a duplicate changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import structlog
from sqlalchemy import Engine, text

log = structlog.get_logger(__name__)

Publish = Callable[[str, UUID], None]
RELAY_BATCH = 500


class Relay:
    TAKE = text(
        "SELECT id, task, subject_id FROM outbox ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
    )
    DONE = text("DELETE FROM outbox WHERE id = ANY(:ids)")

    def __init__(self, engine: Engine, publish: Publish) -> None:
        self.engine = engine
        self.publish = publish

    def relay(self) -> int:
        """Publish everything waiting in the outbox; how many were published."""
        published = 0
        while (batch := self._relay_batch()) > 0:
            published += batch
            if batch < RELAY_BATCH:
                break
        return published

    def _relay_batch(self) -> int:
        with self.engine.begin() as conn:
            rows = conn.execute(self.TAKE, {"limit": RELAY_BATCH}).all()
            for row in rows:
                self.publish(row.task, row.subject_id)
            if rows:
                conn.execute(self.DONE, {"ids": [row.id for row in rows]})
        if rows:
            log.info("outbox.relayed", messages=len(rows))
        return len(rows)
