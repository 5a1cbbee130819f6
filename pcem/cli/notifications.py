"""`pcem worker`, `pcem scheduler` and `pcem notifications …`: the process manager."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path
from uuid import UUID

import click

from pcem.cli.common import check_master_key, current_settings, fails_cleanly, wired
from pcem.cli.tables import table
from pcem.cli.unreachable import check_broker, check_postgres


@click.command()
@click.option(
    "--concurrency", default=2, show_default=True, type=click.IntRange(1, 64),
    help="Worker processes (each takes one task at a time).",
)  # fmt: skip
@click.option(
    "--name",
    default=None,
    help="Celery node name (default pcem-PID@HOST: unique, as RabbitMQ requires).",
)
@fails_cleanly
def worker(concurrency: int, name: str | None) -> None:
    """Run Celery workers for the notification-schedule, delivery and imports queues."""
    from celery.signals import worker_ready

    from pcem.logs import configure_logging
    from pcem.processors.tasks import QUEUES, create_celery
    from pcem.readiness import tell_ready

    settings = current_settings()
    configure_logging(settings, "worker")
    _celery_logs_as_ours(settings.log_level)
    worker_ready.connect(tell_ready, weak=False)
    check_postgres(settings.require_database(), "worker")
    check_master_key(settings)
    check_broker(settings.require_redis())
    create_celery(settings).worker_main(
        [
            "--quiet",  # no banner: plain text on stdout; "… ready." is logged instead
            "worker",
            f"--queues={','.join(QUEUES)}",
            f"--concurrency={concurrency}",
            f"--hostname={name or f'pcem-{os.getpid()}@%h'}",
            f"--loglevel={settings.log_level}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


@click.command()
@fails_cleanly
def scheduler() -> None:
    """Run the scheduler's tick every PCEM_SCHEDULER_TICK_SECONDS (Celery beat).

    Safe to start twice by mistake: a tick is idempotent, so two of them only
    do the work once.
    """
    from celery.signals import beat_init

    from pcem.logs import configure_logging
    from pcem.processors.tasks import create_celery
    from pcem.readiness import tell_ready

    settings = current_settings()
    configure_logging(settings, "scheduler")
    check_master_key(settings)  # it reads no event, but a wrong key is refused everywhere
    _celery_logs_as_ours(settings.log_level)
    beat_init.connect(tell_ready, weak=False)
    check_postgres(settings.require_database(), "scheduler")  # the tick runs here
    check_broker(settings.require_redis())
    with tempfile.TemporaryDirectory(prefix="pcem-beat-") as state:  # beat's own bookkeeping
        create_celery(settings).start(
            [
                "--quiet",  # no banner: plain text on stdout; "beat: Starting..." is logged
                "beat",
                f"--schedule={Path(state) / 'schedule'}",
                f"--loglevel={settings.log_level}",
            ]
        )


def _celery_logs_as_ours(level: str) -> None:
    """Celery sets up logging itself only when nobody answers its ``setup_logging``
    signal: answered, PCEM's handler stays (JSON lines, or the console form on a
    terminal), and Celery's own loggers write through it at ``PCEM_LOG_LEVEL``."""
    from celery.signals import setup_logging, worker_shutting_down
    from celery.utils.log import LoggingProxy

    celery = logging.getLogger("celery")
    celery.setLevel(level)
    setup_logging.connect(_leave_logging_as_it_is, weak=False)
    # Celery prints "worker: Warm shutdown" straight to the descriptor of sys.__stdout__,
    # and nothing when it has none: the stream becomes a logger, the signal says it.
    sys.__stdout__ = LoggingProxy(celery, logging.INFO)  # type: ignore[misc]
    worker_shutting_down.connect(_log_shutdown, weak=False)


def _log_shutdown(sig: str, how: str, **_: object) -> None:
    logging.getLogger("celery").info("worker: %s shutdown (%s)", how, sig)


def _leave_logging_as_it_is(**_: object) -> None:
    """Configured already, by :func:`pcem.logs.configure_logging`."""


@click.group()
def notifications() -> None:
    """The failed set: notifications whose every attempt failed."""


@notifications.command("failed")
@fails_cleanly
def failed() -> None:
    """List failed notifications, newest due first."""
    with wired("cli") as container:
        rows = container.failed_notifications.page(limit=200)
    lines = table(
        ("ID", "CHANNEL", "DUE AT", "ATTEMPTS", "LAST ERROR"),
        [(r.id, r.channel, r.due_at.isoformat(), r.attempts, r.last_error or "-") for r in rows],
        right={"ATTEMPTS"},
    )
    click.echo("\n".join(lines))


@notifications.command("retry")
@click.argument("notification_id", required=False, type=click.UUID)
@click.option("--all", "everything", is_flag=True, help="Retry every failed notification.")
@fails_cleanly
def retry(notification_id: UUID | None, everything: bool) -> None:
    """Send a failed notification again (ID), or all of them (--all), each to its
    channel's current address. One no longer wanted (its channel removed, its person
    or event deleted) is cancelled instead, and named with the reason. Idempotent."""
    from datetime import UTC, datetime

    if everything == (notification_id is not None):
        raise click.UsageError("give one notification ID, or --all")
    with wired("cli") as container:
        retried = container.ledger.retry_failed(datetime.now(UTC), notification_id)
    if notification_id is not None and not retried.moved:
        raise click.ClickException(f"no failed notification {notification_id}")
    click.echo(f"pcem: {len(retried.sent_again)} notification(s) will be sent again")
    for cancelled, reason in retried.cancelled.items():
        click.echo(f"pcem: {cancelled} is cancelled, not sent again: {reason}")
