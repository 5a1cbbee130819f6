"""The reminder digest: a user's email and SMS reminders due the same minute on the same
channel go out as one message listing them all; each is still its own notification,
sent once. Webhook and in-app reminders are never grouped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from uuid import UUID

import pytest

from pcem.settings import Settings
from tests.integration.digest_helpers import (
    DUE,
    EMAIL,
    IN_APP,
    SMS,
    Digests,
    digests_of,
    mail_id,
)


@pytest.fixture
def digests(isolated: Settings) -> Iterator[Digests]:
    yield from digests_of(isolated)


def test_three_birthdays_due_at_nine_arrive_as_one_email_listing_all_three(
    digests: Digests,
) -> None:
    # given
    digests.prefer(EMAIL)
    digests.birthdays("Anna", "Ben", "Cleo")

    # when
    handed_out = digests.tick(DUE)
    outcomes = digests.deliver_each(handed_out, DUE)

    # then
    assert sorted(outcomes) == ["sent", "skipped", "skipped"]  # the first task took all three
    [mail] = digests.mailbox.messages()
    assert mail["To"] == "ada@example.org"
    assert mail["Subject"] == "3 reminders"
    text = mail.get_body(("plain",))
    assert text is not None
    assert text.get_content().splitlines() == [
        "3 reminders:",
        "- Anna Lovelace's birthday is today — Wednesday 10 March",
        "- Ben Lovelace's birthday is today — Wednesday 10 March",
        "- Cleo Lovelace's birthday is today — Wednesday 10 March",
    ]
    [message_id] = {digests.message_ids(n)[0] for n in handed_out}
    assert message_id is not None and message_id not in handed_out  # the digest's own id
    assert mail["Message-ID"] == mail_id(message_id)
    for notification in handed_out:
        detail = digests.detail(notification)
        assert (detail.status, detail.attempts, detail.sent_at) == ("sent", 1, DUE)
        assert [a.outcome for a in detail.attempt_log] == ["sent"]


def test_with_the_digest_off_each_reminder_is_an_email_of_its_own(digests: Digests) -> None:
    digests.prefer(EMAIL, digest=False)
    digests.birthdays("Anna", "Ben", "Cleo")

    handed_out = digests.tick(DUE)

    assert digests.deliver_each(handed_out, DUE) == ["sent", "sent", "sent"]
    mails = digests.mailbox.messages()
    assert sorted(m["Message-ID"] for m in mails) == sorted(mail_id(n) for n in handed_out)
    assert all(digests.message_ids(n) == [n] for n in handed_out)  # each carried itself


def test_texts_due_the_same_minute_go_out_as_one_sms(digests: Digests) -> None:
    digests.prefer(SMS)
    digests.birthdays("Anna", "Ben")

    handed_out = digests.tick(DUE)

    assert sorted(digests.deliver_each(handed_out, DUE)) == ["sent", "skipped"]
    [text] = digests.twilio.accepted
    assert text["To"] == "+4915112345678"
    assert text["Body"].splitlines() == [
        "2 reminders:",
        "- Anna Lovelace's birthday is today — Wednesday 10 March",
        "- Ben Lovelace's birthday is today — Wednesday 10 March",
    ]
    assert len({digests.message_ids(n)[0] for n in handed_out}) == 1


def test_each_channel_has_its_own_digest(digests: Digests) -> None:
    digests.prefer(EMAIL, SMS)
    digests.birthdays("Anna", "Ben")

    handed_out = digests.tick(DUE)
    digests.deliver_each(handed_out, DUE)

    assert [m["Subject"] for m in digests.mailbox.messages()] == ["2 reminders"]
    assert len(digests.twilio.accepted) == 1
    assert len({digests.message_ids(n)[0] for n in handed_out}) == 2  # one message a channel


def test_a_lone_reminder_is_sent_as_itself(digests: Digests) -> None:
    digests.prefer(EMAIL)
    digests.birthdays("Anna")

    [alone] = digests.tick(DUE)

    assert digests.delivery.deliver(alone, DUE) == "sent"
    [mail] = digests.mailbox.messages()
    assert mail["Subject"] == "Anna Lovelace's birthday is today"
    assert mail["Message-ID"] == mail_id(alone)
    assert digests.message_ids(alone) == [alone]


def test_webhook_and_in_app_reminders_are_never_grouped(digests: Digests) -> None:
    digests.prefer({"type": "webhook"}, IN_APP)
    digests.birthdays("Anna", "Ben", "Cleo")

    handed_out = digests.tick(DUE)

    assert digests.deliver_each(handed_out, DUE) == ["sent"] * 6
    hooks = digests.hooks.received
    assert sorted(UUID(r.headers["webhook-id"]) for r in hooks) == sorted(
        n for n in handed_out if digests.detail(n).channel == "webhook"
    )
    for request in hooks:  # each body is its own Notification
        assert json.loads(request.body)["data"]["id"] == request.headers["webhook-id"]
    assert all(digests.message_ids(n) == [n] for n in handed_out)
