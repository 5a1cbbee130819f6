"""An aggregate's events as users (and support) read them: ``AuditEntry`` of API.md.

The answer of the history use cases, below both the API and support."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from pcem.aggregates.erased import ErasedEvent, HistoryEvent

# What a read shows instead of a channel's secret (a webhook's signing key): once
# set, a secret never leaves PCEM (docs/api-decisions.md).
SECRET_SHOWN_AS = "[redacted]"  # noqa: S105 (a marker, not a secret)
_SECRET_FIELDS = frozenset({"secret"})

# Envelope fields every event has; "changes" are the rest.
_ENVELOPE = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "user_id", "actor"}
)


class AuditEntry(msgspec.Struct):
    version: int
    type: str
    occurred_at: datetime
    actor: str
    changes: dict[str, Any]


class History(msgspec.Struct):
    """A page of an aggregate's history, oldest first (``next_cursor`` as every list)."""

    items: list[AuditEntry]
    next_cursor: str | None


def audit_entry(event: HistoryEvent, *, content: bool = True) -> AuditEntry:
    """``content=False``: type, time and actor only (an erased aggregate's history, as
    support sees it)."""
    if isinstance(event, ErasedEvent):  # its type, time and actor; its content is gone
        return AuditEntry(
            version=event.originator_version,
            type=event.audit_type,
            occurred_at=event.timestamp,
            actor=event.actor,
            changes={},
        )
    fields = {k: v for k, v in event.__dict__.items() if k not in _ENVELOPE and content}
    # Updates already carry exactly the fields they set.
    changes = fields["changes"] if set(fields) == {"changes"} else fields
    return AuditEntry(
        version=event.originator_version,
        type=getattr(type(event), "audit_type", type(event).__qualname__.replace(".", "")),
        occurred_at=event.timestamp,
        actor=event.actor,
        changes=without_secrets(changes),
    )


def without_secrets(value: Any) -> Any:
    """``value`` with every channel secret shown as ``SECRET_SHOWN_AS``, at any depth:
    what a history entry, and the export's settings, show of a channel."""
    if isinstance(value, dict):
        return {
            k: SECRET_SHOWN_AS if k in _SECRET_FIELDS else without_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [without_secrets(item) for item in value]
    return value


def history_of(events: Sequence[HistoryEvent], next_cursor: str | None = None) -> History:
    return History(items=[audit_entry(e) for e in events], next_cursor=next_cursor)
