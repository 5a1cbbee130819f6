"""`pcem events`: operator tasks on the event store itself."""

from __future__ import annotations

import time

import click

from pcem.cli.common import current_settings, fails_cleanly, wired

REPORT_EVERY_SECONDS = 5.0


@click.group()
def events() -> None:
    """The event store: sealing events stored in clear."""


@events.command("encrypt")
@click.option(
    "--batch",
    default=1000,  # pcem.eventstore.encrypt_existing.DEFAULT_BATCH (keeps --help quick)
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Events sealed per transaction.",
)
@fails_cleanly
def encrypt(batch: int) -> None:
    """Seal every event still stored in clear (written before encryption) with its
    subject's key, making the keys it lacks.

    Safe while PCEM runs (readers decode both forms), safe to run twice at once, and
    resumable: each batch commits, so a run that is stopped loses at most the batch it
    was in, and the next run goes on. It passes over the store until a pass finds
    nothing left in clear. See docs/operations.md for how long it takes.
    """
    from pcem.eventstore.encrypt_existing import ClearEvents
    from pcem.logs import configure_logging

    configure_logging(current_settings(), "cli", quiet=True)
    started = last_report = time.monotonic()

    def report(position: int, sealed: int) -> None:
        nonlocal last_report
        if time.monotonic() - last_report >= REPORT_EVERY_SECONDS:
            click.echo(f"pcem events encrypt: at position {position}, {sealed} sealed", err=True)
            last_report = time.monotonic()

    with wired("cli", reads_events=True) as container:
        sealing = ClearEvents(container.database.url, container.people.mapper)
        total = sealing.seal_all(batch, report)
    seconds = time.monotonic() - started
    click.echo(f"pcem events encrypt: {total} events sealed in {seconds:.1f} s; none left in clear")
