"""The in-app channel: the notification row is the inbox, and a Redis pub/sub channel
per user says "one was just sent".

The delivery worker's in-app provider publishes on :func:`inbox_channel`; every API
replica's stream subscribes to it, and reads what was sent from the ledger.
"""

from __future__ import annotations


def inbox_channel(user_id: str) -> str:
    """The pub/sub channel of one user's in-app notifications."""
    return f"pcem:notifications:{user_id}"
