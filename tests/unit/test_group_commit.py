"""Commands arriving while a commit is in flight share the next transaction,
and each still gets its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, cast

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from pcem.commands.group_commit import MAX_BATCH, GroupCommit
from pcem.eventstore.recorder import IdempotencyRecord


class FakeStore:
    """Positions in order, like the event store; ``refuse`` fails any transaction
    holding that event; the first transaction waits until ``release`` is set."""

    def __init__(self, refuse: str | None = None) -> None:
        self.transactions: list[list[str]] = []
        self.refuse = refuse
        self.first_started = threading.Event()
        self.release = threading.Event()
        self.head = 0

    def put(self, events: Sequence[Any], records: Sequence[IdempotencyRecord]) -> list[int]:
        if not self.transactions:
            self.first_started.set()
            self.release.wait(5)
        if self.refuse in events:
            self.transactions.append(["failed", *events])
            raise IntegrityError("version conflict")
        self.transactions.append(list(events))
        positions = list(range(self.head + 1, self.head + 1 + len(events)))
        self.head += len(events)
        return positions


def run_concurrently(
    commits: GroupCommit, store: FakeStore, writes: list[list[str]]
) -> dict[str, int | BaseException]:
    outcomes: dict[str, int | BaseException] = {}

    def write(events: list[str]) -> None:
        try:
            outcomes[events[0]] = commits.write(events, [])
        except BaseException as error:
            outcomes[events[0]] = error

    first = threading.Thread(target=write, args=(["first"],))
    first.start()
    assert store.first_started.wait(5)
    others = [threading.Thread(target=write, args=(events,)) for events in writes]
    for thread in others:
        thread.start()
    while len(commits._queue) < len(writes):  # every other write waits behind the first
        threading.Event().wait(0.001)
    store.release.set()
    for thread in [first, *others]:
        thread.join(5)
    return outcomes


def test_writes_that_arrive_during_a_commit_share_the_next_transaction() -> None:
    store = FakeStore()
    commits = GroupCommit(store.put)

    outcomes = run_concurrently(commits, store, [["a1", "a2"], ["b"], ["c"]])

    assert store.transactions[0] == ["first"]
    assert sorted(store.transactions[1]) == ["a1", "a2", "b", "c"]
    assert len(store.transactions) == 2
    positions = [cast(int, outcomes[name]) for name in ("a1", "b", "c")]
    assert sorted(positions) == sorted(set(positions))  # each its own last position
    assert outcomes["first"] == 1


def test_a_write_at_fault_fails_alone_and_the_others_commit() -> None:
    store = FakeStore(refuse="bad")
    commits = GroupCommit(store.put)

    outcomes = run_concurrently(commits, store, [["good1"], ["bad"], ["good2"]])

    assert isinstance(outcomes["bad"], IntegrityError)
    assert isinstance(outcomes["good1"], int)
    assert isinstance(outcomes["good2"], int)
    committed = [t for t in store.transactions if t[0] != "failed"]
    assert sorted(e for t in committed for e in t) == ["first", "good1", "good2"]


def test_a_lone_write_is_committed_at_once() -> None:
    store = FakeStore()
    store.release.set()
    commits = GroupCommit(store.put)

    assert commits.write(["only"], []) == 1
    assert store.transactions == [["only"]]


def test_a_lone_write_at_fault_raises_its_error() -> None:
    store = FakeStore(refuse="x")
    store.release.set()

    with pytest.raises(IntegrityError):
        GroupCommit(store.put).write(["x"], [])


def test_when_the_shared_transaction_cannot_commit_every_write_of_it_fails() -> None:
    class DatabaseDown(FakeStore):
        def put(self, events: Sequence[Any], records: Sequence[IdempotencyRecord]) -> list[int]:
            if len(self.transactions) >= 1:
                raise ConnectionError("the database is unavailable")
            return super().put(events, records)

    store = DatabaseDown()
    outcomes = run_concurrently(GroupCommit(store.put), store, [["a"], ["b"]])

    assert isinstance(outcomes["a"], ConnectionError)  # never a silent success
    assert isinstance(outcomes["b"], ConnectionError)
    assert outcomes["first"] == 1


def test_more_writes_than_one_transaction_takes_are_all_committed() -> None:
    store = FakeStore()
    writes = [[f"w{i}"] for i in range(MAX_BATCH + 5)]

    outcomes = run_concurrently(GroupCommit(store.put), store, writes)

    positions = [outcomes[w[0]] for w in writes]
    assert all(isinstance(p, int) and p > 0 for p in positions)
    assert sorted(e for t in store.transactions for e in t) == sorted(
        ["first", *(w[0] for w in writes)]
    )


def test_writes_queued_while_the_database_is_unreachable_fail_with_it_at_once() -> None:
    class Unreachable(FakeStore):
        def put(self, events: Sequence[Any], records: Sequence[IdempotencyRecord]) -> list[int]:
            super().put(events, records)  # the first waits for the others to queue
            raise OperationalError("connection refused")

    store = Unreachable()
    outcomes = run_concurrently(GroupCommit(store.put), store, [["a"], ["b"]])

    # Only the first turn waited for the database; the queued writes share its answer.
    assert len(store.transactions) == 1
    assert all(isinstance(outcomes[name], OperationalError) for name in ("first", "a", "b"))
