"""The env file `pcem dev` writes under ``PCEM_DATA_DIR`` while it runs: where its
embedded servers are, and its signing secret, for the `pcem` commands run beside it.

Precedence: a variable set in the environment always wins; the file only fills in
what is unset. Its lines are ``export NAME='value'``, so a shell can read it too
(``. .pcem/env`` before ``psql "$PCEM_DATABASE_URL"``). Only `pcem dev` writes it,
and removes it when it stops: the servers it names are gone then.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

ENV_FILE = "env"


def env_file(data_dir: Path) -> Path:
    return data_dir / ENV_FILE


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Only its owner may read it: it may hold the development signing secret."""
    lines = [f"export {name}={shlex.quote(value)}\n" for name, value in sorted(values.items())]
    write_private_file(path, "".join(lines))


def write_private_file(path: Path, text: str) -> None:
    """``text`` in ``path``, readable by its owner only from the first byte on."""
    path.unlink(missing_ok=True)  # an existing file would keep its own mode
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def with_env_file(environ: Mapping[str, str], path: Path) -> dict[str, str]:
    """``environ``, with what ``path`` sets for the variables it leaves unset."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return dict(environ)
    return {**_assignments(text), **environ}


def _assignments(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"] and len(words) == 2 and "=" in words[1]:
            name, value = words[1].split("=", 1)
            found[name] = value
    return found
