"""What every format's writer works with: the snapshot, whose data, the mapper."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread
from eventsourcing.persistence import Mapper

from pcem.database.row_security import StreamingSnapshot

T = TypeVar("T")
BATCH = 500  # rows a server-side cursor hands over at a time


@dataclass(frozen=True)
class ExportRun:
    snapshot: StreamingSnapshot
    user_id: str
    mapper: Mapper[Any]

    @property
    def params(self) -> dict[str, Any]:
        return {"user_id": self.user_id}

    async def off_the_loop(self, work: Callable[..., T], *args: Any) -> T:
        """CPU work on a batch (decoding events, encoding JSON, writing cards) in a
        worker thread: the API's event loop keeps answering other requests meanwhile."""
        return await anyio.to_thread.run_sync(work, *args)
