"""Delivery figures for ``/metrics``, counted from the ledger when scraped.

Counted, not kept in a process: every API replica reports the same truth, and
a restart loses nothing. Each scrape reads the attempt log and the sent
notifications in full, within a statement timeout, so a slow database makes a
scrape lose these figures rather than pile up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

# Due-to-sent latency buckets (seconds): from on time to a day late.
LATENCY_BUCKETS: tuple[float, ...] = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 21600, 86400)
STATEMENT_TIMEOUT = "5s"


@dataclass(frozen=True)
class Latency:
    """The due-to-sent latencies of one channel's sent notifications, as a histogram."""

    channel: str
    cumulative: tuple[int, ...]  # how many took at most each of LATENCY_BUCKETS
    count: int
    total_seconds: float


@dataclass(frozen=True)
class DeliveryFigures:
    attempts: dict[tuple[str, str], int]  # (channel, outcome) -> attempts logged
    latencies: list[Latency]
    outbox_depth: int


class DeliveryStats:
    ATTEMPTS = text(
        "SELECT n.channel, a.outcome, count(*) FROM notification_attempts a"
        " JOIN notifications n ON n.id = a.notification_id GROUP BY n.channel, a.outcome"
    )
    LATENCY = text(
        "SELECT channel, "  # noqa: S608 (the bounds are constants)
        + "".join(f"count(*) FILTER (WHERE latency <= {bound}), " for bound in LATENCY_BUCKETS)
        + "count(*), coalesce(sum(latency), 0)"
        " FROM (SELECT channel, extract(epoch FROM sent_at - due_at)::float8 AS latency"
        "       FROM notifications WHERE status = 'sent') sent GROUP BY channel"
    )
    OUTBOX_DEPTH = text("SELECT count(*) FROM outbox")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def figures(self) -> DeliveryFigures:
        with self.engine.begin() as conn:
            conn.execute(text(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'"))
            attempts = {(c, o): int(n) for c, o, n in conn.execute(self.ATTEMPTS)}
            latencies = [_latency(row) for row in conn.execute(self.LATENCY)]
            depth = int(conn.execute(self.OUTBOX_DEPTH).scalar_one())
        return DeliveryFigures(attempts, latencies, depth)


def _latency(row: Any) -> Latency:
    channel, *counts, count, total = row
    return Latency(channel, tuple(counts), count, total)
