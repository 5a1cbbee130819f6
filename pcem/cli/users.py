"""`pcem users erase USER_ID`: an operator erases a user, as `DELETE /api/v1/me` does.

The erasure is recorded with the operator's name (``--operator``, by default the
logged-in OS user) in ``account_erasures`` and in the log; the command then runs it
to the end here, in bounded committed steps, printing each. Interrupted, it is
finished by the worker (the tick sends it again) or by running the command again,
which resumes it rather than starting another.
"""

from __future__ import annotations

import getpass
import time

import click

from pcem.cli.common import current_settings, fails_cleanly, wired

WAIT_SECONDS = 1.0  # between tries while another process (the worker) runs it


@click.group()
def users() -> None:
    """Operators' tasks on a user's account."""


@users.command("erase")
@click.argument("user_id")
@click.option(
    "--operator",
    default=getpass.getuser,
    show_default="the OS user",
    help="Who erases, as recorded with the erasure and in the log.",
)
@click.option(
    "--batch-size",
    default=50,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="People purged in each committed step.",
)
@fails_cleanly
def erase(user_id: str, operator: str, batch_size: int) -> None:
    """Erase USER_ID's account for good: every person, event, relationship, setting,
    notification, import and calendar feed (docs/operations.md). Resumes an erasure
    of USER_ID that was interrupted."""
    from pcem.logs import configure_logging

    if not operator.strip():
        raise click.BadParameter("must name who erases", param_hint="--operator")
    if not user_id.strip() or len(user_id) > 128:
        raise click.BadParameter("must be a user id (a token's sub)", param_hint="USER_ID")
    configure_logging(current_settings(), "cli", quiet=True)
    with wired("cli") as container:
        erasures = container.account_erasure
        erasures.people_batch = batch_size
        erasure, _ = erasures.request(user_id, requested_by=operator, channel="cli")
        click.echo(
            f"erasing {user_id} (erasure {erasure.id}, asked by {erasure.requested_by}"
            f" at {erasure.requested_at.isoformat()})"
        )
        while (outcome := erasures.run(erasure.id)) != "nothing to do" and outcome != "done":
            click.echo(f"  {outcome}; trying again")
            time.sleep(WAIT_SECONDS)
        done = container.account_erasures.load(erasure.id)
    assert done is not None  # the row is never deleted
    click.echo(
        f"erased {user_id}: {done.people_purged} people purged, {done.keys_destroyed} keys"
        f" destroyed; the account starts afresh (generation {done.generation})"
    )
