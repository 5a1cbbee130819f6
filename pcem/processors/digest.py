"""The reminder digest: several notifications of one user, one channel and one due
minute, sent as one message (API.md, "Digest").

The claim takes a digest's members together (``pcem.notifications.claims``); this
words them as one email or text and names the message. Its id is the same on
every attempt of the same members, so a digest sent again after a crash is the
same ``Message-ID`` to mail clients, and no single notification's id is reused
for a message with other content.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid5

from pcem.aggregates.wording import digest
from pcem.notifications.claims import Claimed
from pcem.processors.providers.base import Message

_DIGESTS = UUID("8f4c2b1e-6a3d-4e5f-9b7a-2c1d0e9f8a76")  # digest ids' namespace


def message_id_of(members: Sequence[Claimed]) -> UUID:
    """The id of the message carrying ``members``: a lone notification's own id, or
    one made of the members' ids (in any order) for a digest."""
    if len(members) == 1:
        return members[0].id
    return uuid5(_DIGESTS, ",".join(sorted(str(member.id) for member in members)))


def digest_message(members: Sequence[Claimed]) -> Message:
    """One message listing every member, for email or SMS (never a webhook or in-app)."""
    worded = digest([member.body for member in members])
    message_id = message_id_of(members)
    return Message(
        notification_id=message_id,
        user_id=members[0].user_id,
        subject=worded.title,
        text=worded.body,
        html=worded.html,
        payload={"id": str(message_id), "notifications": [str(m.id) for m in members]},
    )
