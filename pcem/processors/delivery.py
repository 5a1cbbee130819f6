"""Delivering one notification: claim it, check it is still wanted, send, record.

What a delivery task does, as a plain function of the notification id and the
clock. The claim is a conditional update, so a redelivered task or a second
worker changes nothing. A notification whose reminder the schedule no longer
asks for (its person or event deleted, notifications turned off, the channel
removed) is cancelled, with the reason (``pcem.notifications.wanted``), instead of
sent; one whose channel's address was edited goes to the new one. A failed send is
retried from the database (``next_attempt_at``) with exponential backoff and
jitter, up to ``max_retries`` times; then it is ``failed``, in the failed set.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from uuid import UUID

import msgspec
import structlog

from pcem.notifications.claims import Claimed, Claims, ClaimSession
from pcem.notifications.inbox import NotificationRow
from pcem.notifications.wanted import destination
from pcem.processors.providers.base import ChannelConfig, DeliveryFailed, Message, Provider

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff: timedelta = timedelta(seconds=60)

    def next_attempt(self, retries_so_far: int, now: datetime) -> datetime | None:
        """When to try again after ``retries_so_far`` retries, or None: give up."""
        if retries_so_far >= self.max_retries:
            return None
        delay = self.backoff.total_seconds() * 2**retries_so_far
        return now + timedelta(seconds=delay * random.uniform(1.0, 1.25))  # noqa: S311 (jitter)


def still_wanted(claimed: Claimed) -> ChannelConfig | str:
    """The channel to send over, or why the notification is not wanted any more, by
    the schedule and the user's settings as the claim read them."""
    return destination(
        claimed.schedule_status, claimed.cancel_reason, claimed.channel_key, claimed.channels
    )


@dataclass
class Delivery:
    claims: Claims
    providers: Mapping[str, Provider]
    retries: RetryPolicy

    def deliver(self, notification_id: UUID, now: datetime) -> str:
        """Deliver the notification if it is this worker's to deliver; the outcome."""
        with self.claims.session() as ledger:  # one connection for the delivery
            claimed = ledger.claim(notification_id, now)
            if claimed is None:
                return "skipped"
            with structlog.contextvars.bound_contextvars(notification_id=str(notification_id)):
                outcome = self._attempt(ledger, claimed, now)
                log.info("notification.attempt", channel=claimed.channel, outcome=outcome)
        return outcome

    def _attempt(self, ledger: ClaimSession, claimed: Claimed, now: datetime) -> str:
        channel = still_wanted(claimed)
        if isinstance(channel, str):
            ledger.settle(claimed, now, outcome="cancelled", error=channel)
            return "cancelled"
        try:
            self.providers[claimed.channel].send(message_of(claimed, now), channel)
        except DeliveryFailed as failure:
            return self._failed(ledger, claimed, now, failure)
        except Exception as error:  # a provider's bug or a time limit: counted, retried
            log.exception("notification.send_crashed", channel=claimed.channel)
            crash = DeliveryFailed(f"unexpected {type(error).__name__}", retryable=True)
            return self._failed(ledger, claimed, now, crash)
        ledger.settle(claimed, now, outcome="sent")
        return "sent"

    def _failed(
        self, ledger: ClaimSession, claimed: Claimed, now: datetime, failure: DeliveryFailed
    ) -> str:
        retries_so_far = claimed.attempts - claimed.retry_base - 1
        retry_at = self.retries.next_attempt(retries_so_far, now) if failure.retryable else None
        if retry_at is None:
            ledger.settle(claimed, now, outcome="failed", error=failure.reason)
            return "failed"
        ledger.settle(claimed, now, outcome="retry", error=failure.reason, next_attempt_at=retry_at)
        return "retry"


def message_of(claimed: Claimed, now: datetime) -> Message:
    return Message(
        notification_id=claimed.id,
        user_id=claimed.user_id,
        subject=claimed.title,
        text=claimed.body,
        html=f"<p>{escape(claimed.body)}</p>",
        payload=msgspec.to_builtins(as_sent(claimed, now)),
    )


def as_sent(claimed: Claimed, now: datetime) -> NotificationRow:
    """The Notification as ``GET /notifications/{id}`` shows it once this attempt has
    delivered it: ``sent`` at ``now``, this attempt counted, no error. A webhook's
    ``data`` (and the in-app wake-up): the receiver is told what it is being given."""
    return NotificationRow(
        id=claimed.id,
        event_id=claimed.event_id,
        person_id=claimed.person_id,
        channel=claimed.channel,
        lead_time_days=claimed.lead_time_days,
        occurrence_date=claimed.occurrence_date,
        due_at=claimed.due_at,
        status="sent",
        attempts=claimed.attempts,
        last_error=None,
        sent_at=now,
        read_at=claimed.read_at,
        title=claimed.title,
        body=claimed.body,
    )
