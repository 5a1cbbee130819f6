"""The reminder digest's world: a user's birthdays, the process manager's plain
functions on the real database, and real receivers for every channel: an SMTP
server (aiosmtpd), the local stand-in for Twilio, and a webhook receiver.

The user is in Berlin and is reminded on the day at 09:00 local: birthdays on
Wednesday 10 March fall due at 08:00 UTC.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from pcem.notifications.inbox import NotificationDetail
from pcem.notifications.ledger import Ledger
from pcem.processors.delivery import Delivery, RetryPolicy
from pcem.processors.providers.registry import providers_for
from pcem.processors.relay import Relay
from pcem.settings import ChannelSettings, Settings, SmsSettings, SmtpSettings
from pcem.wiring import Container, build_container
from tests.integration.api_helpers import served
from tests.integration.fake_twilio import FakeTwilio
from tests.integration.projection_helpers import Database
from tests.integration.receivers import Answer, Mailbox, Request, http_server
from tests.integration.receivers import smtp_server as smtp_server_on
from tests.integration.schedule_helpers import Calendar, utc

USER = "digest-user"
TODAY = date(2027, 3, 1)
NOON = utc(2027, 3, 1, 12)
DUE = utc(2027, 3, 10, 8)  # 09:00 in Berlin
EMAIL = {"type": "email", "address": "ada@example.org"}
SMS = {"type": "sms", "phone": "+4915112345678"}
IN_APP = {"type": "in_app"}
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
SENDER_DOMAIN = "example.org"
RETRIES = RetryPolicy(max_retries=3, backoff=timedelta(seconds=60))
LEASE = timedelta(seconds=60)


@dataclass
class Hooks:
    """A webhook receiver that takes every delivery."""

    received: list[Request] = field(default_factory=list)

    def __call__(self, request: Request) -> Answer:
        self.received.append(request)
        return Answer(204)


@dataclass
class Digests:
    cal: Calendar
    container: Container
    settings: Settings
    mailbox: Mailbox
    twilio: FakeTwilio
    hooks: Hooks
    hook_url: str
    ledger: Ledger
    delivery: Delivery
    published: list[UUID] = field(default_factory=list)

    def tick(self, at: datetime) -> list[UUID]:
        """A scheduler tick then the relay, as the tick task runs them: what was handed out."""
        self.published.clear()
        self.ledger.tick(at)
        relay = Relay(self.container.engine, lambda _task, id_: self.published.append(id_))
        relay.relay()
        return list(self.published)

    def deliver_each(self, handed_out: list[UUID], at: datetime) -> list[str]:
        """Each handed-out notification's task, one after the other."""
        return [self.delivery.deliver(notification_id, at) for notification_id in handed_out]

    def prefer(self, *channels: dict[str, Any], **preferences: Any) -> None:
        """The user's settings: these channels, reminded on the day at 09:00 in Berlin."""
        webhooks = [c for c in channels if c["type"] == "webhook"]
        for hook in webhooks:
            hook.update(url=self.hook_url, secret="a-webhook-secret-of-the-user")
        preferences = {"timezone": "Europe/Berlin", "lead_time_days": (0,), **preferences}
        self.cal.prefer(USER, NOON - timedelta(hours=1), channels=channels, **preferences)
        self.cal.catch_up()

    def birthdays(self, *names: str, on: date = date(1990, 3, 10)) -> None:
        """A person of each name with a birthday ``on`` that day (of any year)."""
        for name in names:
            person = self.cal.person(USER, NOON, first_name=name)
            self.cal.event(USER, person, NOON, event_date=on)
        self.cal.catch_up()

    def detail(self, notification_id: UUID) -> NotificationDetail:
        """The notification as ``GET /notifications/{id}`` shows it to the user."""
        found = served(self.container, lambda serving: serving.inbox.get(USER, notification_id))
        assert found is not None
        return found

    def message_ids(self, notification_id: UUID) -> list[UUID | None]:
        return [attempt.message_id for attempt in self.detail(notification_id).attempt_log]


def mail_id(message_id: UUID) -> str:
    """The ``Message-ID`` of an email the message of that id went out as."""
    return f"<{message_id}@{SENDER_DOMAIN}>"


def with_channels(settings: Settings, smtp_port: int, sms_url: str) -> Settings:
    """The server's settings with email and SMS sent to the local receivers."""
    smtp = SmtpSettings(
        host="127.0.0.1", port=smtp_port, sender=f"PCEM <reminders@{SENDER_DOMAIN}>",
        timeout_seconds=5.0,
    )  # fmt: skip
    sms = SmsSettings(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, sender="+15005550006", base_url=sms_url
    )
    channels = ChannelSettings(smtp=smtp, sms=sms, webhook=settings.channels.webhook)
    return dataclasses.replace(settings, channels=channels)


def digests_of(isolated: Settings, today: date = TODAY) -> Iterator[Digests]:
    """The world of a test's ``digests`` fixture (each test module declares its own),
    its schedule's window around ``today``."""
    db = Database(isolated)
    cal = Calendar(db, today)
    twilio, hooks = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN), Hooks()
    with smtp_server_on() as smtp, http_server(twilio) as sms, http_server(hooks) as hook:
        settings = with_channels(isolated, smtp.port, sms.url)
        container = build_container(settings, role="worker", pool_size=2)
        providers = providers_for(settings, container.redis, container.http)
        delivery = Delivery(container.claims, providers, RETRIES)
        ledger = Ledger(container.engine, lease=LEASE)
        yield Digests(
            cal, container, settings, smtp.mailbox, twilio, hooks, hook.url + "/hook", ledger,
            delivery,
        )  # fmt: skip
        container.close()
    cal.close()
    db.close()
