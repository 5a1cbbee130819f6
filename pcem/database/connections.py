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


def application_name(role: str) -> str:
    return f"pcem {role} {socket.gethostname()}:{os.getpid()}"[:63]


def driver_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy one (pipelines, binary results)."""
    return cast("psycopg.Connection[Any]", conn.connection.driver_connection)
