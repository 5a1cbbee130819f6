"""What erasure needs from the configuration: ``PCEM_MASTER_KEY``, the key that wraps
every subject's data key (docs/privacy.md)."""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Mapping

from pcem.settings.values import ConfigError, optional

MASTER_KEY_BYTES = 32  # AES-256
MAKE_ONE = "python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'"


def master_key_from(env: Mapping[str, str]) -> bytes | None:
    """The master key's 32 bytes (None: not set); never echoed in an error."""
    value = optional(env, "PCEM_MASTER_KEY")
    if value is None:
        return None
    try:
        key = b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("PCEM_MASTER_KEY must be base64 (32 random bytes)") from None
    if len(key) != MASTER_KEY_BYTES:
        raise ConfigError(
            f"PCEM_MASTER_KEY must be {MASTER_KEY_BYTES} bytes, base64 (it decodes to {len(key)})"
        )
    return key
