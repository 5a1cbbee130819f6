"""`pcem`: every PCEM process and operator task is a subcommand of this group."""

from __future__ import annotations

import gc
import socket
import sys

import click

from pcem.cli.audit import audit
from pcem.cli.common import check_master_key, current_settings, fails_cleanly, stop_on_signals
from pcem.cli.dev import dev
from pcem.cli.events import events
from pcem.cli.notifications import notifications, scheduler, worker
from pcem.cli.projections import projections
from pcem.cli.unreachable import check_postgres, listen_on
from pcem.cli.users import users
from pcem.settings import ConfigError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pcem", prog_name="pcem")  # the installed version
def cli() -> None:
    """PCEM, the People Connection & Event Manager.

    Configuration comes from PCEM_* environment variables, and for those unset, from
    PCEM_DATA_DIR/env while `pcem dev` runs (see docs/configuration.md).
    """


@cli.command()
@fails_cleanly
def migrate() -> None:
    """Apply every database migration (safe to run again, and concurrently).

    Also checks PCEM_MASTER_KEY (sealing the database's check value at the first run)."""
    from pcem.migrate import migrate as apply_migrations

    settings = current_settings()
    database = settings.require_database()
    settings.require_master_key()  # before any change: a missing key stops it at once
    apply_migrations(database)
    check_master_key(settings)
    click.echo("pcem: database is at the latest migration")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
# `pcem dev` binds the port itself and hands the socket over: nobody can take it between.
@click.option("--listen-fd", type=int, default=None, hidden=True)
@fails_cleanly
def api(host: str, port: int, listen_fd: int | None) -> None:
    """Serve the HTTP API (run several for more capacity)."""
    import structlog
    import uvicorn

    from pcem.api.app import create_app, proxy_options
    from pcem.api.server import STOP_GRACE_SECONDS, StreamsEndingServer
    from pcem.logs import configure_logging
    from pcem.wiring import build_container

    settings = current_settings()
    configure_logging(settings, "api")
    if not settings.jwt.configured:
        raise ConfigError(
            "no JWT key: set PCEM_JWT_SECRET, PCEM_JWT_PUBLIC_KEY or PCEM_JWT_JWKS_FILE"
        )
    # A taken port: one line, before anything connects.
    listening = listen_on(host, port) if listen_fd is None else socket.socket(fileno=listen_fd)
    check_postgres(settings.require_database(), "api")  # down: one line now, not 500s later
    check_master_key(settings)
    app = create_app(build_container(settings))
    # What is built so far lives as long as the process: out of the collector's
    # full passes, which otherwise walked it every few thousand requests (45 ms a
    # pass, the API's slowest requests; docs/performance.md).
    gc.collect()
    gc.freeze()
    # uvicorn itself logs only warnings: say once where to find the API.
    url = base_url(host, port)
    structlog.get_logger(__name__).info("api.serving", url=url, docs=f"{url}/schema")
    config = uvicorn.Config(
        app,
        log_config=None,  # uvicorn's own lines through PCEM's handler: JSON too
        log_level="warning",
        access_log=False,
        # Once asked to stop, requests get this long to finish; then they are cancelled.
        timeout_graceful_shutdown=STOP_GRACE_SECONDS,
        **proxy_options(settings.rate_limits),
    )
    server = StreamsEndingServer(config, app.state.stopping)
    server.run(sockets=[listening])
    if not server.started:  # the application's start-up failed; uvicorn logged why
        sys.exit(1)


def base_url(host: str, port: int) -> str:
    """The URL of ``host:port``; an IPv6 address goes in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@cli.command()
@fails_cleanly
def projector() -> None:
    """Run the projections (safe to start several: each projection runs in one)."""
    from pcem.logs import configure_logging
    from pcem.readiness import tell_ready
    from pcem.wiring import build_container

    settings = current_settings()
    configure_logging(settings, "projector")
    check_master_key(settings)
    container = build_container(settings, pool_size=3, role="projector")
    try:
        container.run_projector(stop_on_signals(), started=tell_ready)
    finally:
        container.close()


@cli.command()
@click.option("--user", "user_id", required=True, help="The user id (the token's sub claim).")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["support", "operator"]),
    help="Add a role (repeatable).",
)
@click.option("--ttl", default="1h", show_default=True, help="Lifetime: 90s, 15m, 1h, 7d.")
@fails_cleanly
def token(user_id: str, roles: tuple[str, ...], ttl: str) -> None:
    """Print a development token signed with PCEM_JWT_SECRET."""
    from pcem.cli.tokens import mint_token, parse_ttl

    try:
        lifetime = parse_ttl(ttl)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--ttl") from None
    if not 0 < len(user_id) <= 128:
        raise click.BadParameter("must be 1..128 characters", param_hint="--user")
    click.echo(mint_token(current_settings().jwt, user_id, roles=roles, ttl=lifetime))


cli.add_command(dev)
cli.add_command(projections)
cli.add_command(audit)
cli.add_command(events)
cli.add_command(worker)
cli.add_command(scheduler)
cli.add_command(notifications)
cli.add_command(users)

if __name__ == "__main__":
    cli()
