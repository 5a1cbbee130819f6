"""The Celery app of the process manager: three thin tasks over plain functions.

- ``pcem.tick``, run by ``pcem scheduler`` itself every
  ``PCEM_SCHEDULER_TICK_SECONDS`` (``pcem.processors.ticks``), off the workers'
  pool: the ledger's tick, stalled imports sent again, then the relay. Workers
  still consume its queue, ``notification-schedule``, for a tick sent by a
  scheduler of an earlier release.
- ``pcem.deliver`` (queue ``delivery``): one notification, by id only.
- ``pcem.import`` (queue ``imports``, apart, so a long file never holds up a
  reminder's queue): one contact import, by id only, run or resumed
  (``pcem.imports.run``; a second copy of the message finds it held and leaves).
- ``pcem.erase-account`` (queue ``imports`` too: long background work about one
  user): one account erasure, by id only, run or resumed (``pcem.erasure.accounts``);
  the tick sends again one that stopped moving.

Both are safe to run twice: a tick is idempotent (keys and ``SKIP LOCKED``),
and a delivery starts with a conditional claim. Nothing waits in the broker
for long: retries are due from the database, never ETA or countdown messages
(a Redis broker redelivers those after its visibility timeout), so a broker
restart loses at most messages the relay publishes again. Acks are late and a
task whose worker died is rejected back to the queue, one message at a time.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from uuid import UUID

import structlog
from celery import Celery
from kombu.connection import Connection

from pcem.erasure.requests import ERASE
from pcem.imports.jobs import IMPORT
from pcem.notifications.ledger import DELIVERY, Ledger
from pcem.processors.delivery import Delivery, RetryPolicy
from pcem.processors.providers.registry import providers_for
from pcem.processors.relay import Relay
from pcem.processors.ticks import InProcessScheduler, aligned
from pcem.settings import Settings
from pcem.wiring import Container, build_container

log = structlog.get_logger(__name__)

TICK = "pcem.tick"
DELIVER = "pcem.deliver"
IMPORT_CONTACTS = "pcem.import"
ERASE_ACCOUNT = "pcem.erase-account"
SCHEDULE_QUEUE = "notification-schedule"
DELIVERY_QUEUE = "delivery"
IMPORT_QUEUE = "imports"
QUEUES = (SCHEDULE_QUEUE, DELIVERY_QUEUE, IMPORT_QUEUE)
# The task each kind of outbox message is relayed as, and its queue.
TASK_FOR_MESSAGE = {DELIVERY: DELIVER, IMPORT: IMPORT_CONTACTS, ERASE: ERASE_ACCOUNT}
QUEUE_FOR_TASK = {
    TICK: SCHEDULE_QUEUE,
    DELIVER: DELIVERY_QUEUE,
    IMPORT_CONTACTS: IMPORT_QUEUE,
    ERASE_ACCOUNT: IMPORT_QUEUE,
}


@dataclass
class ProcessManager:
    """What the tasks run, built from the wiring once per worker process."""

    container: Container
    celery: Celery

    @property
    def ledger(self) -> Ledger:
        return self.container.ledger

    @cached_property
    def relay(self) -> Relay:
        return Relay(self.container.engine, self._publish)

    @cached_property
    def delivery(self) -> Delivery:
        settings = self.container.settings.notifications
        retries = RetryPolicy(
            max_retries=settings.max_retries,
            backoff=timedelta(seconds=settings.retry_backoff_seconds),
        )
        return Delivery(
            self.container.claims,
            providers_for(self.container.settings, self.container.redis, self.container.http),
            retries,
        )

    def tick(self) -> None:
        now = datetime.now(UTC)
        self.ledger.tick(now, queued=self.queued_deliveries)
        self.container.imports.send_stalled_again(now)
        self.container.account_erasures.send_stalled_again(now)
        self.relay.relay()

    def deliver(self, notification_id: UUID) -> str:
        return self.delivery.deliver(notification_id, datetime.now(UTC))

    def import_contacts(self, import_id: UUID) -> str:
        return self.container.import_run.run(import_id)

    def erase_account(self, erasure_id: UUID) -> str:
        return self.container.account_erasure.run(erasure_id)

    def queued_deliveries(self) -> int:
        """The messages waiting in the delivery queue. A connection of its own each
        time: a pooled one a broker restart broke stays broken for channels, where
        publishing (which retries) gets over it."""
        with self.celery.connection_for_read() as conn:
            return queue_depth(conn, DELIVERY_QUEUE)

    def _publish(self, message: str, subject_id: UUID) -> None:
        task = TASK_FOR_MESSAGE[message]
        self.celery.send_task(task, args=[str(subject_id)], queue=QUEUE_FOR_TASK[task])


def queue_depth(conn: Connection, queue: str) -> int:
    """Messages ready in ``queue``, on Redis (the list's length) or RabbitMQ alike: a
    passive declare; 0 while the queue does not exist (a Redis list is gone when empty)."""
    channel = conn.channel()  # type: ignore[no-untyped-call]  # (kombu has no type hints)
    try:
        return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except conn.channel_errors:
        return 0
    finally:
        with suppress(*conn.connection_errors, *conn.channel_errors):
            channel.close()


def create_celery(settings: Settings, container: Container | None = None) -> Celery:
    """The process manager's Celery app; ``container`` overrides the wiring (tests)."""
    app = Celery("pcem", broker=settings.require_redis().broker_url, set_as_current=False)
    tick_seconds = settings.notifications.tick_seconds
    lease = settings.notifications.lease_seconds
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=DELIVERY_QUEUE,
        task_routes={task: {"queue": queue} for task, queue in QUEUE_FOR_TASK.items()},
        beat_schedule={"tick": {"task": TICK, "schedule": aligned(tick_seconds)}},
        beat_scheduler=InProcessScheduler,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    parts: dict[str, ProcessManager] = {}

    def manager() -> ProcessManager:
        if "manager" not in parts:  # built in the worker process, on its first task
            wired = container or build_container(settings, role="worker", pool_size=4)
            parts["manager"] = ProcessManager(wired, app)
        return parts["manager"]

    @app.task(name=TICK)  # type: ignore[untyped-decorator]  # (celery has no type hints)
    def tick() -> None:
        manager().tick()

    # A send still running near the end of its lease is stopped (and retried): past
    # it, another worker could take the notification and send it a second time.
    limits = {"soft_time_limit": lease * 0.8, "time_limit": lease}

    @app.task(name=DELIVER, **limits)  # type: ignore[untyped-decorator]
    def deliver(notification_id: str) -> str:
        return manager().deliver(UUID(notification_id))

    # No time limit: a file of 10 MiB takes minutes, and a run stopped midway resumes.
    @app.task(name=IMPORT_CONTACTS)  # type: ignore[untyped-decorator]
    def import_contacts(import_id: str) -> str:
        outcome = manager().import_contacts(UUID(import_id))
        log.info("import.run", import_id=import_id, outcome=outcome)
        return outcome

    # No time limit either: an erasure runs in committed steps and resumes if stopped.
    @app.task(name=ERASE_ACCOUNT)  # type: ignore[untyped-decorator]
    def erase_account(erasure_id: str) -> str:
        outcome = manager().erase_account(UUID(erasure_id))
        log.info("account.erasure_run", erasure_id=erasure_id, outcome=outcome)
        return outcome

    return app
