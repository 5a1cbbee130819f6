"""`pcem audit history ID`: an aggregate's owner and whole story, for support staff.

Each use is recorded in the support access log, like a read through the API:
channel ``cli``, and as actor the operator (``--operator``, by default the
logged-in OS user), so the log says who read.
"""

from __future__ import annotations

import getpass
import json
from typing import TYPE_CHECKING
from uuid import UUID

import click

from pcem.cli.common import current_settings, fails_cleanly, wired
from pcem.cli.tables import table

if TYPE_CHECKING:
    from pcem.support.audit import AggregateHistoryOut


@click.group()
def audit() -> None:
    """Read any record's history, for support (every read is recorded)."""


@audit.command("history")
@click.argument("aggregate_id", type=click.UUID)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead of a table.")
@click.option(
    "--operator",
    default=getpass.getuser,
    show_default="the OS user",
    help="Who reads, as recorded in the support access log.",
)
@fails_cleanly
def history(aggregate_id: UUID, as_json: bool, operator: str) -> None:
    """Print the owner and every event of AGGREGATE_ID (a person, event or settings)."""
    import msgspec

    from pcem.aggregates.ownership import NotFoundError
    from pcem.logs import configure_logging
    from pcem.support.audit import support_history_of

    if not operator.strip():
        raise click.BadParameter("must name who reads", param_hint="--operator")
    configure_logging(current_settings(), "cli", quiet=True)
    with wired("cli", reads_events=True) as container:
        try:
            found = container.support_history.read(aggregate_id, actor=operator, channel="cli")
        except NotFoundError:
            raise click.ClickException(f"no aggregate {aggregate_id} in the event store") from None
    body = support_history_of(found)
    if as_json:
        click.echo(msgspec.json.encode(body).decode())
    else:
        click.echo(_table(body))


def _table(body: AggregateHistoryOut) -> str:
    owner = (
        f"{body.aggregate_type} {body.aggregate_id}, owned by {body.owner}:"
        f" {len(body.items)} events"
    )
    rows = [
        (e.version, e.occurred_at.isoformat(), e.type, e.actor, _changes(e.changes))
        for e in body.items
    ]
    header = ("VERSION", "OCCURRED AT", "TYPE", "ACTOR", "CHANGES")
    return "\n".join([owner, *table(header, rows, right={"VERSION"})])


def _changes(changes: object) -> str:
    return json.dumps(changes, default=str, ensure_ascii=False)
