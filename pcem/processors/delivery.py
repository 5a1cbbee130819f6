"""Delivering one notification: claim it, check it is still wanted, send, record.

What a delivery task does, as a plain function of the notification id and the
clock. The claim is a conditional update, so a redelivered task or a second
worker changes nothing. An email or SMS notification of a user with the digest
on is claimed with the others of the user due the same minute on the same
channel, and they go out as one message (``pcem.processors.digest``), settled
together: sent, retried at the same moment, or failed, all at once.

A notification whose reminder the schedule no longer asks for (its person or
event deleted, notifications turned off, the channel removed) is cancelled, with
the reason (``pcem.notifications.wanted``), instead of sent; one whose channel's
address was edited goes to the new one. A failed send is retried from the
database (``next_attempt_at``) with exponential backoff and jitter, up to
``max_retries`` times; then it is ``failed``, in the failed set.
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
from pcem.processors.digest import digest_message
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
        """Deliver the notification if it is this worker's to deliver, with the rest of
        its digest if it has one; the outcome of the send (or why there was none)."""
        with self.claims.session() as ledger:  # one connection for the delivery
            members = ledger.claim(notification_id, now)
            if not members:
                return "skipped"
            with structlog.contextvars.bound_contextvars(notification_id=str(notification_id)):
                outcome = self._attempt(ledger, members, now)
        return outcome

    def _attempt(self, ledger: ClaimSession, members: list[Claimed], now: datetime) -> str:
        wanted, channel = self._cancel_unwanted(ledger, members, now)
        if channel is None:
            return "cancelled"
        message = message_of(wanted[0], now) if len(wanted) == 1 else digest_message(wanted)
        outcome = self._send(ledger, wanted, message, channel, now)
        log.info(
            "notification.attempt", channel=wanted[0].channel, outcome=outcome,
            message_id=str(message.notification_id), members=len(wanted),
        )  # fmt: skip
        return outcome

    def _send(
        self,
        ledger: ClaimSession,
        members: list[Claimed],
        message: Message,
        channel: ChannelConfig,
        now: datetime,
    ) -> str:
        """One message for every member, settled for all of them together."""
        try:
            self.providers[members[0].channel].send(message, channel)
        except DeliveryFailed as failure:
            return self._failed(ledger, members, now, failure, message.notification_id)
        except Exception as error:  # a provider's bug or a time limit: counted, retried
            log.exception("notification.send_crashed", channel=members[0].channel)
            crash = DeliveryFailed(f"unexpected {type(error).__name__}", retryable=True)
            return self._failed(ledger, members, now, crash, message.notification_id)
        ledger.settle(members, now, outcome="sent", message_id=message.notification_id)
        return "sent"

    def _cancel_unwanted(
        self, ledger: ClaimSession, members: list[Claimed], now: datetime
    ) -> tuple[list[Claimed], ChannelConfig | None]:
        """Cancel the members no longer wanted, each with its reason; the others, and
        the channel they share (None if none is left)."""
        wanted, channel = [], None
        for member in members:
            destination = still_wanted(member)
            if isinstance(destination, str):
                ledger.settle([member], now, outcome="cancelled", error=destination)
                log.info("notification.attempt", channel=member.channel, outcome="cancelled")
            else:
                wanted.append(member)
                channel = destination
        return wanted, channel

    def _failed(
        self,
        ledger: ClaimSession,
        members: list[Claimed],
        now: datetime,
        failure: DeliveryFailed,
        message_id: UUID,
    ) -> str:
        # A digest's members retry together, so the most tried one spends the budget.
        retries_so_far = max(member.attempts - member.retry_base - 1 for member in members)
        retry_at = self.retries.next_attempt(retries_so_far, now) if failure.retryable else None
        outcome = "failed" if retry_at is None else "retry"
        ledger.settle(
            members, now, outcome=outcome, error=failure.reason,
            next_attempt_at=retry_at, message_id=message_id,
        )  # fmt: skip
        return outcome


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
