"""`pcem worker`, `pcem scheduler` and `pcem notifications …`: the process manager."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from uuid import UUID

import click

from pcem.cli.common import current_settings, fails_cleanly, wired
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
    from pcem.logs import configure_logging
    from pcem.processors.tasks import QUEUES, create_celery

    settings = current_settings()
    configure_logging(settings, "worker")
    check_postgres(settings.require_database(), "worker")
    check_broker(settings.require_redis())
    create_celery(settings).worker_main(
        [
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
    """Send the scheduler's tick every PCEM_SCHEDULER_TICK_SECONDS (Celery beat).

    Safe to start twice by mistake: a tick is idempotent, so two of them only
    do the work once.
    """
    from pcem.logs import configure_logging
    from pcem.processors.tasks import create_celery

    settings = current_settings()
    configure_logging(settings, "scheduler")
    check_broker(settings.require_redis())
    with tempfile.TemporaryDirectory(prefix="pcem-beat-") as state:  # beat's own bookkeeping
        create_celery(settings).start(
            [
                "beat",
                f"--schedule={Path(state) / 'schedule'}",
                f"--loglevel={settings.log_level}",
            ]
        )


@click.group()
def notifications() -> None:
    """The failed set: notifications whose every attempt failed."""


@notifications.command("failed")
@fails_cleanly
def failed() -> None:
    """List failed notifications, newest due first."""
    with wired("cli") as container:
        rows = container.failed_notifications.page(limit=200)
    click.echo(f"{'ID':<36}  {'CHANNEL':<8} {'DUE AT':<25} {'ATTEMPTS':>8}  LAST ERROR")
    for row in rows:
        click.echo(
            f"{row.id!s:<36}  {row.channel:<8} {row.due_at.isoformat():<25} "
            f"{row.attempts:>8}  {row.last_error or '-'}"
        )


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
