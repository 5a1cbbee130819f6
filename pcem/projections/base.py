"""The shape of a PCEM projection.

Like eventsourcing's ``Projection``, a projection is a class with a
singledispatch ``process_event``. Unlike it, events arrive in batches: the
runner applies many events and one tracking record in a single transaction
(one transaction per event would cap replays at ~1,000 events/s), so each
handler receives the open SQLAlchemy connection of that batch. Handlers that
only change rows use :func:`pcem.projections.writes.write`, which pipelines, or
record them in a change set of the batch (:func:`pcem.projections.writes.deferred`),
written set-based.

A projection owns the read tables it names in ``tables`` (parents before the
tables that reference them), which is what lets an operator rebuild it aside
and swap (``pcem.projector.rebuild``). For that to reproduce the same rows:
handlers touch only their own tables, with unqualified names; rows take their
keys and timestamps from events (no sequences, no ``now()``); and no other
table references these. Handlers must not cause side effects beyond their
tables: a rebuild replays every event through them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import singledispatchmethod
from typing import Any, ClassVar, cast

from eventsourcing.utils import get_topic
from sqlalchemy import Connection


class Projection:
    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]] = ()  # the read tables it owns, referenced ones first

    @singledispatchmethod
    def process_event(self, event: Any, conn: Connection) -> None:
        """Events a projection does not register for are skipped."""

    @classmethod
    def handled_topics(cls) -> frozenset[str]:
        """Topics of the event classes with a registered handler (others are not decoded)."""
        method = inspect.getattr_static(cls, "process_event")
        registry = method.dispatcher.registry
        return frozenset(get_topic(t) for t in registry if t is not object)


class CompositeProjection(Projection):
    """Several projections applied as one ordered stream, in one transaction per batch:
    for read tables that reference each other (foreign keys, joins while projecting)."""

    parts: ClassVar[tuple[type[Projection], ...]]

    def __init__(self) -> None:
        self._parts = [part() for part in self.parts]
        self._handlers: dict[type, list[Callable[[Any, Connection], None]]] = {}

    def process_event(self, event: Any, conn: Connection) -> None:
        # Resolved once per event class: singledispatchmethod builds a new
        # function on every attribute access, a fifth of a replay's Python time.
        handlers = self._handlers.get(type(event))
        if handlers is None:
            handlers = self._handlers[type(event)] = [
                handler for part in self._parts if (handler := _handler(part, type(event)))
            ]
        for handler in handlers:
            handler(event, conn)

    @classmethod
    def handled_topics(cls) -> frozenset[str]:
        return frozenset().union(*(part.handled_topics() for part in cls.parts))


def _handler(part: Projection, kind: type) -> Callable[[Any, Connection], None] | None:
    """The part's handler for events of this class (None: the part ignores them)."""
    method = inspect.getattr_static(type(part), "process_event")
    if not isinstance(method, singledispatchmethod):
        return part.process_event
    function = method.dispatcher.dispatch(kind)
    if function is method.dispatcher.dispatch(object):
        return None
    return cast(Callable[[Any, Connection], None], function.__get__(part, type(part)))
