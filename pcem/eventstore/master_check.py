"""Is ``PCEM_MASTER_KEY`` the key this database's data keys are wrapped with?

The first process to ask seals a constant with its key into ``master_key_check``
(migration 0113); every later one must open it. A wrong key is then one line at
start-up, never events silently read as erased nor keys wrapped that others cannot
open.
"""

from __future__ import annotations

from typing import Any

import psycopg

from pcem.eventstore.keyring import MasterKey
from pcem.settings import ConfigError

_CHECK_VALUE = b"pcem master key check"
_CONTEXT = b"pcem master_key_check v1"
_SELECT = "SELECT sealed FROM master_key_check"
_INSERT = "INSERT INTO master_key_check (sealed) VALUES (%s) ON CONFLICT DO NOTHING"


class WrongMasterKeyError(ConfigError):
    def __init__(self) -> None:
        super().__init__(
            "PCEM_MASTER_KEY is not the key this database's data keys are wrapped with"
            " (it does not open master_key_check)"
        )


def check_master_key(conn: psycopg.Connection[Any], key: bytes) -> None:
    """Raise ``WrongMasterKeyError`` unless ``key`` opens the database's check value
    (sealing it first when the database has none)."""
    master = MasterKey(key)
    row = conn.execute(_SELECT).fetchone()
    if row is None:
        conn.execute(_INSERT, (master.seal(_CHECK_VALUE, _CONTEXT),))
        row = conn.execute(_SELECT).fetchone()  # ours, or a racing first process's
    if row is None or not master.opens(bytes(row[0]), _CONTEXT):
        raise WrongMasterKeyError()
