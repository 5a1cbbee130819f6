"""Concurrent commands' events, committed together.

The event store orders positions by taking a table lock for each insert and
holding it until the commit, so commands write one at a time, however many
arrive. While one commit is in flight, the commands that arrive meanwhile
wait and then go in one transaction together: one lock, one commit, many
commands. Each still gets its own outcome: if the shared transaction fails
(a version conflict or an Idempotency-Key race in one of them), each command
of it is written again on its own, so only the one at fault sees the error.
If the database is unreachable, the commands that queued meanwhile fail with
the same error at once rather than wait their own turn to fail (each turn
waits for the database up to its bound): a command answers within one turn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError

from pcem.eventstore.recorder import IdempotencyKeyTakenError, IdempotencyRecord

# Writes events with their idempotency records in one transaction; answers
# each event's position, in order.
Put = Callable[[Sequence[Any], Sequence[IdempotencyRecord]], list[int]]
MAX_BATCH = 64
_UNREACHABLE = (OperationalError, InterfaceError)  # the database, not the command


@dataclass
class _Write:
    events: list[Any]
    records: list[IdempotencyRecord]
    finished: bool = False
    position: int = 0
    error: BaseException | None = None

    def outcome(self) -> int:
        if self.error is not None:
            raise self.error
        return self.position


@dataclass
class GroupCommit:
    put: Put
    _queue: list[_Write] = field(default_factory=list)
    _leading: bool = False
    _turn: threading.Condition = field(default_factory=threading.Condition)

    def write(self, events: list[Any], records: list[IdempotencyRecord]) -> int:
        """Commit ``events`` (with ``records``), alone or with concurrent writes;
        the position of the last of them."""
        job = _Write(events, records)
        with self._turn:
            self._queue.append(job)
        while True:  # lead commits until one of them holds this job
            with self._turn:
                while self._leading and not job.finished:
                    self._turn.wait()
                if job.finished:
                    return job.outcome()
                self._leading = True
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                self._commit(batch)
            finally:
                with self._turn:
                    self._leading = False
                    self._fail_queued_if_unreachable(batch)
                    self._turn.notify_all()

    def _fail_queued_if_unreachable(self, batch: list[_Write]) -> None:
        down = next((j.error for j in batch if isinstance(j.error, _UNREACHABLE)), None)
        if down is not None:
            for job in self._queue:
                job.error, job.finished = down, True
            self._queue = []

    def _commit(self, batch: list[_Write]) -> None:
        if len(batch) > 1:
            try:
                positions = self.put(
                    [e for job in batch for e in job.events],
                    [r for job in batch for r in job.records],
                )
            except (IntegrityError, IdempotencyKeyTakenError):
                pass  # one of them is at fault: each on its own, below
            except BaseException as error:  # the database is down, say: every one fails
                for job in batch:
                    job.error, job.finished = error, True
                return
            else:
                for job in batch:
                    mine, positions = positions[: len(job.events)], positions[len(job.events) :]
                    job.position, job.finished = max(mine, default=0), True
                return
        for job in batch:
            try:
                job.position = max(self.put(job.events, job.records), default=0)
            except BaseException as error:  # the command that raised it answers for it
                job.error = error
            job.finished = True
