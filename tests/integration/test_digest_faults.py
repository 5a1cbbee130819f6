"""The reminder digest under faults: a failing send, two schedulers, two workers, a
redelivered task, a worker that dies holding the digest. Its members are sent, retried
and failed together, in one message, never one of them twice unless the message is.

Three birthdays on the same day, reminded by email on the day at 09:00 in Berlin.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import pytest

from pcem.database.connections import application_name
from pcem.notifications.ledger import Ledger
from pcem.processors.delivery import Delivery
from pcem.processors.providers import Message
from pcem.settings import Settings
from tests.integration.digest_helpers import DUE, EMAIL, RETRIES, Digests, digests_of, mail_id


@pytest.fixture
def digests(isolated: Settings) -> Iterator[Digests]:
    yield from digests_of(isolated)


def three_birthdays(digests: Digests) -> list[UUID]:
    digests.prefer(EMAIL)
    digests.birthdays("Anna", "Ben", "Cleo")
    return sorted(UUID(str(row.id)) for row in digests.cal.rows("digest-user"))


def test_a_failing_digest_retries_its_members_together_then_fails_them_together(
    digests: Digests,
) -> None:
    members = three_birthdays(digests)
    digests.mailbox.data_answer = "451 4.3.0 Try again later"
    moment = DUE
    handed_out = digests.tick(moment)

    outcomes = []
    for _ in range(4):  # the first attempt and three retries
        outcomes.append(sorted(digests.deliver_each(handed_out, moment)))
        if outcomes[-1][0] == "retry":
            assert digests.tick(moment + timedelta(seconds=59)) == []  # backoff: not yet
            moment += timedelta(hours=1)
            handed_out = digests.tick(moment)
            assert sorted(handed_out) == members  # all of them due again
    assert outcomes == [["retry", "skipped", "skipped"]] * 3 + [["failed", "skipped", "skipped"]]

    for notification in members:
        detail = digests.detail(notification)
        assert (detail.status, detail.attempts) == ("failed", 4)
        assert detail.last_error and "451" in detail.last_error
        assert [a.outcome for a in detail.attempt_log] == ["retry", "retry", "retry", "failed"]
    assert len({tuple(digests.message_ids(n)) for n in members}) == 1  # the same message
    assert digests.mailbox.received == []


def test_the_members_of_a_failed_digest_are_due_again_at_the_same_moment(
    digests: Digests,
) -> None:
    members = three_birthdays(digests)
    digests.mailbox.data_answer = "451 4.3.0 Try again later"

    assert sorted(digests.deliver_each(digests.tick(DUE), DUE)) == ["retry", "skipped", "skipped"]

    with digests.container.engine.connect() as conn:
        due_again = conn.exec_driver_sql(
            "SELECT DISTINCT next_attempt_at FROM notifications WHERE id = ANY(%(ids)s)",
            {"ids": members},
        ).all()
    assert len(due_again) == 1


def test_an_operators_retry_of_a_failed_digest_sends_it_once(digests: Digests) -> None:
    members = three_birthdays(digests)
    digests.mailbox.data_answer = "550 5.1.1 No such mailbox"  # not retryable: failed at once
    assert sorted(digests.deliver_each(digests.tick(DUE), DUE)) == ["failed", "skipped", "skipped"]

    digests.mailbox.data_answer = None
    later = DUE + timedelta(hours=1)
    assert sorted(digests.ledger.retry_failed(later).sent_again) == members
    digests.tick(later)

    assert sorted(digests.deliver_each(members, later)) == ["sent", "skipped", "skipped"]
    [mail] = digests.mailbox.messages()
    assert mail["Subject"] == "3 reminders"


def test_a_redelivered_task_sends_the_digest_once(digests: Digests) -> None:
    members = three_birthdays(digests)
    handed_out = digests.tick(DUE)

    assert sorted(digests.deliver_each(handed_out, DUE)) == ["sent", "skipped", "skipped"]
    assert digests.deliver_each(handed_out, DUE) == ["skipped"] * 3  # every task again
    assert digests.tick(DUE + timedelta(minutes=5)) == []

    assert len(digests.mailbox.received) == 1
    assert {digests.detail(n).attempts for n in members} == {1}


def in_threads(*work: Callable[[], Any]) -> list[Any]:
    """Run each at the same moment in a thread of its own; what each returned."""
    start = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(index: int) -> None:
        start.wait()
        results[index] = work[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_schedulers_ticking_at_once_hand_each_member_out_once_and_send_one_digest(
    digests: Digests,
) -> None:
    members = three_birthdays(digests)

    made = in_threads(
        lambda: Ledger(digests.container.engine).tick(DUE),
        lambda: Ledger(digests.container.engine).tick(DUE),
    )
    handed_out = digests.tick(DUE)  # the relay

    assert sorted(made) == [0, 3] and sorted(handed_out) == members
    outcomes = in_threads(*(lambda n=n: digests.delivery.deliver(n, DUE) for n in handed_out))
    assert sorted(outcomes) == ["sent", "skipped", "skipped"]
    assert len(digests.mailbox.received) == 1


def waiting_deliveries(digests: Digests) -> int:
    """How many delivery statements wait for a lock now."""
    with digests.container.engine.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = %s AND wait_event_type = 'Lock'",
                (application_name("worker deliveries"),),
            ).scalar_one()
        )


def test_two_workers_taking_members_of_one_digest_at_once_send_it_once(
    digests: Digests,
) -> None:
    # given two workers, each with a task for another member, both in the claim at once:
    # the second member is held (as a tick would), so the first worker waits in the
    # middle of taking the group, and the second waits behind it
    first, held, last = three_birthdays(digests)
    digests.tick(DUE)
    results: dict[UUID, str] = {}
    with digests.container.engine.connect() as blocker:
        blocker.exec_driver_sql("SELECT 1 FROM notifications WHERE id = %s FOR UPDATE", (held,))
        workers = [
            threading.Thread(target=lambda n=n: results.update({n: deliver(digests, n)}))
            for n in (first, last)
        ]
        for waiting, worker in enumerate(workers, start=1):
            worker.start()
            deadline = time.monotonic() + 30
            while waiting_deliveries(digests) < waiting:
                assert time.monotonic() < deadline, "the worker never reached the lock"
                time.sleep(0.05)
        blocker.rollback()  # let go of the held member
    for worker in workers:
        worker.join(timeout=30)

    # then one of them took the whole group, and the other nothing
    assert sorted(results.values()) == ["sent", "skipped"]
    [mail] = digests.mailbox.messages()
    assert mail["Subject"] == "3 reminders"


def deliver(digests: Digests, notification_id: UUID) -> str:
    return digests.delivery.deliver(notification_id, DUE)


def test_a_digest_whose_worker_died_holding_it_is_sent_once_after_its_lease(
    digests: Digests,
) -> None:
    members = three_birthdays(digests)
    lead = digests.tick(DUE)[0]
    with digests.delivery.claims.session() as ledger:  # the worker dies holding them
        assert sorted(m.id for m in ledger.claim(lead, DUE)) == members

    assert digests.tick(DUE + timedelta(seconds=30)) == []  # its lease still runs
    handed_out = digests.tick(DUE + timedelta(seconds=61))
    assert sorted(handed_out) == members  # the whole group, at once

    outcomes = digests.deliver_each(handed_out, DUE + timedelta(seconds=62))
    assert sorted(outcomes) == ["sent", "skipped", "skipped"]
    [mail] = digests.mailbox.messages()
    assert mail["Subject"] == "3 reminders"
    assert {digests.detail(n).attempts for n in members} == {2}  # the one in flight, this one


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


class Killed(BaseException):
    """The worker's process ended where it stood (SIGKILL): nothing after it runs."""


class DiesOnceSent:
    """The email provider of a worker killed as soon as the server accepted its mail."""

    channel = "email"

    def __init__(self, delivery: Delivery) -> None:
        self.email = delivery.providers["email"]

    def send(self, message: Message, channel: Any) -> Any:
        self.email.send(message, channel)
        raise Killed


def test_a_digest_accepted_before_its_worker_died_is_sent_again_as_the_same_message(
    digests: Digests,
) -> None:
    members = three_birthdays(digests)
    handed_out = digests.tick(DUE)
    dying = Delivery(digests.container.claims, {"email": DiesOnceSent(digests.delivery)}, RETRIES)
    with pytest.raises(Killed):
        dying.deliver(handed_out[0], DUE)

    again = digests.tick(DUE + timedelta(seconds=61))
    outcomes = digests.deliver_each(again, DUE + timedelta(seconds=62))

    # the one message in flight arrives twice, as the same message (a mail client shows
    # it once), with the same members; none of them went out a third time or alone
    assert sorted(outcomes) == ["sent", "skipped", "skipped"]
    first, second = digests.mailbox.messages()
    assert first["Message-ID"] == second["Message-ID"]
    assert text_of(first) == text_of(second)
    [message_id] = {digests.message_ids(n)[0] for n in members}
    assert message_id is not None and first["Message-ID"] == mail_id(message_id)
