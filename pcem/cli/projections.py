"""`pcem projections …`: status, rebuild and verify, for operators."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from pcem.cli.common import current_settings, fails_cleanly, stop_on_signals, wired
from pcem.cli.progress import ProgressBar
from pcem.cli.tables import table

if TYPE_CHECKING:  # the heavy imports wait until a command runs, to keep --help quick
    from pcem.projections.base import Projection
    from pcem.projector.verify import VerificationResult
    from pcem.wiring import Container

INTERRUPTED = 130


@click.group()
def projections() -> None:
    """Inspect, rebuild and verify the read-model projections."""


@projections.command("status")
@fails_cleanly
def status() -> None:
    """Print each projection's position, the event store head, lag, state and runner."""
    with wired("cli") as container:
        statuses = container.tracking.statuses()
    header, *lines = table(
        ("NAME", "POSITION", "HEAD", "LAG", "STATE", "RUNNER"),
        [(s.name, s.position, s.head, s.lag, s.state, s.runner or "-") for s in statuses],
        right={"POSITION", "HEAD", "LAG"},
    )
    click.echo(header)
    for s, line in zip(statuses, lines, strict=True):
        click.echo(line)
        if s.error:
            click.echo(f"  failed at event {s.failed_position or '?'}: {s.error}")


batch_size_option = click.option(
    "--batch-size",
    default=10_000,  # pcem.projector.rebuild.REBUILD_BATCH (not imported: keeps --help quick)
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Events applied per transaction.",
)


@projections.command("rebuild")
@click.argument("name", required=False)
@click.option("--all", "everything", is_flag=True, help="Rebuild every projection in turn.")
@batch_size_option
@fails_cleanly
def rebuild(name: str | None, everything: bool, batch_size: int) -> None:
    """Rebuild NAME's tables from the events, aside, then swap them in.

    NAME is a projection of `pcem projections status` (people_and_dates; its former
    name, people, is still accepted).

    The API keeps serving the old tables until the new ones are complete.
    Interrupted, a rebuild resumes where it stopped when run again (or a
    running `pcem projector` finishes it). Progress goes to stderr.
    """
    from pcem.projections.catalog import all_projections

    if everything == (name is not None):
        raise click.UsageError("give one projection NAME, or --all")
    chosen = all_projections() if everything else [_projection(name or "")]
    stop = stop_on_signals()
    with _store("rebuild") as store:
        for projection in chosen:
            _rebuild_one(store, projection, batch_size, stop)


@projections.command("verify")
@click.argument("name")
@batch_size_option
@fails_cleanly
def verify(name: str, batch_size: int) -> None:
    """Build NAME afresh, aside, and compare it with the live tables row by row.

    NAME as for `rebuild` (people_and_dates, or its former name people).

    Prints each table's row counts and checksums and any rows that differ;
    exit status 1 if anything differs. The live tables are not touched.
    """
    from pcem.projector.batches import ProjectionFailure
    from pcem.projector.locks import holding
    from pcem.projector.rebuild import RebuildError
    from pcem.projector.shadow import ShadowError
    from pcem.projector.verify import Verification, verify_track

    projection = _projection(name)
    name = projection.name  # a former name answers with today's
    stop = stop_on_signals()
    bar = ProgressBar(name)
    with (
        _store("verify") as store,
        holding(store.database.url, verify_track(name).name, "verify") as held,
    ):
        if held is None:
            raise click.ClickException(f"a verification of {name!r} is already running")
        verification = Verification(
            projection, store.engine, store.people.mapper, batch_size=batch_size
        )
        try:
            result = verification.run(stop, bar.update)
        except (ProjectionFailure, RebuildError, ShadowError) as error:
            bar.finish("failed")
            raise click.ClickException(f"cannot build {name!r} afresh: {error}") from None
    if result is None:
        bar.finish("interrupted")
        sys.exit(INTERRUPTED)
    bar.finish("built afresh and compared")
    click.echo(_report(name, result))
    sys.exit(0 if result.identical else 1)


def _projection(name: str) -> Projection:
    from pcem.projections.catalog import all_projections, projection_named

    projection = projection_named(name)
    if projection is None:
        known = ", ".join(sorted(p.name for p in all_projections()))
        raise click.BadParameter(f"no projection {name!r}; there are: {known}", param_hint="NAME")
    return projection


@contextmanager
def _store(role: str) -> Iterator[Container]:
    from pcem.logs import configure_logging

    configure_logging(current_settings(), "cli", quiet=True)  # stderr is the progress bar's
    with wired(role, reads_events=True) as container:
        yield container


def _rebuild_one(
    store: Container, projection: Projection, batch_size: int, stop: threading.Event
) -> None:
    """Rebuild here, or - while another process holds the rebuild - follow its progress."""
    from pcem.projector.locks import holding
    from pcem.projector.rebuild import rebuild_track
    from pcem.projector.tracking import ProjectionTracking

    track = rebuild_track(projection.name).name
    tracking = ProjectionTracking(store.engine)
    tracking.request(track)  # if this process dies, a projector finishes the job
    bar = ProgressBar(projection.name)
    while not stop.is_set():
        with holding(store.database.url, track, "rebuild") as held:
            if held is not None:
                _rebuild_here(store, projection, batch_size, stop, bar)
                return
        status = tracking.status(track)
        if status is None:
            bar.finish("rebuilt and swapped in by another process")
            return
        if status.state == "failed":
            raise click.ClickException(f"rebuild of {projection.name!r} failed: {status.error}")
        bar.update(status.position, status.head)
        stop.wait(0.5)
    _interrupted(bar)


def _rebuild_here(
    store: Container,
    projection: Projection,
    batch_size: int,
    stop: threading.Event,
    bar: ProgressBar,
) -> None:
    from pcem.projector.batches import ProjectionFailure
    from pcem.projector.rebuild import Rebuild, RebuildError
    from pcem.projector.shadow import ShadowError

    rebuild = Rebuild(projection, store.engine, store.people.mapper, batch_size=batch_size)
    try:
        swapped = rebuild.run(stop, bar.update)
    except ProjectionFailure as failure:
        bar.finish("failed")
        raise click.ClickException(
            f"rebuild of {projection.name!r} stopped at {failure};"
            " fix the cause and run again to resume"
        ) from None
    except (RebuildError, ShadowError) as error:
        bar.finish("failed")
        raise click.ClickException(str(error)) from None
    if not swapped:
        _interrupted(bar)
    bar.finish("rebuilt and swapped in")


def _interrupted(bar: ProgressBar) -> None:
    bar.finish("interrupted; run the same command again to resume")
    sys.exit(INTERRUPTED)


def _differ(rows: int) -> str:
    return "1 row differs" if rows == 1 else f"{rows:,} rows differ"


def _report(name: str, result: VerificationResult) -> str:
    lines = [f"{name}, compared at event {result.position}:"]
    lines += table(
        ("TABLE", "LIVE ROWS", "LIVE CHECKSUM", "REBUILT ROWS", "REBUILT CHECKSUM", "VERDICT"),
        [
            (
                t.table,
                f"{t.live_rows:,}",
                t.live_checksum[:12],
                f"{t.fresh_rows:,}",
                t.fresh_checksum[:12],
                "identical" if t.identical else _differ(t.differences),
            )
            for t in result.tables
        ],
        right={"LIVE ROWS", "REBUILT ROWS"},
    )
    for t in (t for t in result.tables if not t.identical):  # the rows, after the table
        lines += ["", f"{t.table}:"]
        lines += [f"  {d.kind:<13} {t.key}={d.key}" for d in t.examples]
        if t.differences > len(t.examples):
            lines.append(f"  … and {t.differences - len(t.examples)} more")
    return "\n".join(lines)
