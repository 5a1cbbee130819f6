"""What every PCEM connection to PostgreSQL shares: its name, and the driver beneath
SQLAlchemy.

``application_name`` tells operators in ``pg_stat_activity`` (and ``projections
status``) which process holds a connection.
"""

from __future__ import annotations

import os
import socket
from typing import Any, cast

import psycopg
from sqlalchemy import Connection

# How soon PostgreSQL drops the session of a client it can no longer reach (a host
# cut off or powered down): until then the session's locks stay held, among them a
# projection's advisory lock (no other host's projector may take over: every read
# waiting for a newer position answers 503) and the event store's table lock of an
# insert in flight (every write of every host waits). With the kernel's defaults
# that is two hours; with these about 15 s: probes after 5 s of silence, every 2 s,
# 5 unanswered; 15 s for data sent and never acknowledged. Session settings, so
# every PCEM connection sets them and the server needs no configuration; ignored
# on a Unix-domain socket.
DEAD_CLIENT_OPTIONS = (
    "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=5"
    " -c tcp_user_timeout=15000"
)
# Every session in UTC whatever the server's default: psycopg then answers
# datetime.timezone.utc, not a ZoneInfo it converts every timestamp to (0.3 ms for
# the 450 rows of a 366-day upcoming query).
SESSION_OPTIONS = f"-c timezone=UTC {DEAD_CLIENT_OPTIONS}"


def application_name(role: str) -> str:
    return f"pcem {role} {socket.gethostname()}:{os.getpid()}"[:63]


def driver_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy one (pipelines, binary results)."""
    return cast("psycopg.Connection[Any]", conn.connection.driver_connection)
