"""Whether a notification is still wanted, and over which channel it goes now.

The schedule (a read model) and the user's current settings decide, as they stand
when a worker takes the notification or an operator retries it: a reminder no
longer in the schedule, or held back there, is not sent; one whose channel slot
is still configured goes to that slot's current address.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pcem.aggregates.reminders import SCHEDULED, channel_keys
from pcem.aggregates.settings import Preferences

NO_LONGER_SCHEDULED = "the reminder is no longer scheduled"
CHANNEL_REMOVED = "the channel is no longer configured"


def destination(
    schedule_status: str | None,
    cancel_reason: str | None,
    channel_key: str,
    channels: Iterable[Mapping[str, Any]] | None,
) -> Mapping[str, Any] | str:
    """The channel to send over, or why the notification is not wanted any more.
    ``schedule_status`` None: the reminder has left the schedule; ``channels`` None:
    the user never saved settings, so the default channels are theirs."""
    if schedule_status not in (None, SCHEDULED):
        return cancel_reason or NO_LONGER_SCHEDULED  # held back: a person deleted...
    configured = Preferences().channels if channels is None else channels
    channel = channel_keys(configured).get(channel_key)
    if channel is None:
        return CHANNEL_REMOVED
    return NO_LONGER_SCHEDULED if schedule_status is None else channel
