"""The shape of a PCEM projection.

Like eventsourcing's ``Projection``, a projection is a class with a
singledispatch ``process_event``. Unlike it, events arrive in batches: the
runner applies many events and one tracking record in a single transaction
(one transaction per event would cap replays at ~1,000 events/s), so each
handler receives the open SQLAlchemy connection of that batch.
"""

from __future__ import annotations

import inspect
from functools import singledispatchmethod
from typing import Any, ClassVar

from eventsourcing.utils import get_topic
from sqlalchemy import Connection


class Projection:
    name: ClassVar[str]

    @singledispatchmethod
    def process_event(self, event: Any, conn: Connection) -> None:
        """Events a projection does not register for are skipped."""

    @classmethod
    def handled_topics(cls) -> frozenset[str]:
        """Topics of the event classes with a registered handler (others are not decoded)."""
        method = inspect.getattr_static(cls, "process_event")
        registry = method.dispatcher.registry
        return frozenset(get_topic(t) for t in registry if t is not object)
