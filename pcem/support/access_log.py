"""The append-only record of support reads (a trigger refuses UPDATE, DELETE, TRUNCATE)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from sqlalchemy import Engine, text

Channel = Literal["api", "cli"]


class SupportAccessLog:
    RECORD = text(
        "INSERT INTO support_access_log (actor, aggregate_id, channel, found, request_id)"
        " VALUES (:actor, :aggregate_id, :channel, :found, :request_id)"
    )

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        *,
        actor: str,
        aggregate_id: UUID,
        channel: Channel,
        found: bool,
        request_id: str | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                self.RECORD,
                {
                    "actor": actor,
                    "aggregate_id": aggregate_id,
                    "channel": channel,
                    "found": found,
                    "request_id": request_id,
                },
            )
