"""A worded notification, as the delivery worker will hand it to a provider."""

from __future__ import annotations

import uuid
from datetime import date

from pcem.aggregates.wording import reminder
from pcem.processors.providers import Message

OCCURRENCE = date(2026, 11, 28)


def notification_message(
    *,
    user_id: str = "user-1",
    person_name: str = "Anna Smith",
    channel: str = "webhook",
    notification_id: uuid.UUID | None = None,
) -> Message:
    notification_id = notification_id or uuid.uuid4()
    wording = reminder(person_name, "Birthday", 7, OCCURRENCE)
    payload = {
        "id": str(notification_id),
        "event_id": str(uuid.uuid4()),
        "person_id": str(uuid.uuid4()),
        "channel": channel,
        "lead_time_days": 7,
        "occurrence_date": OCCURRENCE.isoformat(),
        "due_at": "2026-11-21T08:00:00Z",
        "status": "sent",  # as the delivery says it once this attempt succeeds
        "attempts": 1,
        "last_error": None,
        "sent_at": "2026-11-21T08:00:00Z",
        "read_at": None,
        "title": wording.title,
        "body": wording.body,
    }
    return Message(
        notification_id=notification_id,
        user_id=user_id,
        subject=wording.title,
        text=wording.body,
        html=wording.html,
        payload=payload,
    )
