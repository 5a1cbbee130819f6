"""A child of `pcem dev` telling it that it is up, so the banner comes after every
process's start-up lines instead of among them.

`pcem dev` hands each child the write end of a pipe, its number in
``PCEM_DEV_READY_FD``; a process started any other way has none and tells nobody.
"""

from __future__ import annotations

import os

READY_FD = "PCEM_DEV_READY_FD"


def tell_ready(*_: object, **__: object) -> None:
    """Write one byte and close the pipe (once; any arguments ignored, so a Celery
    signal can call it)."""
    fd = os.environ.pop(READY_FD, None)
    if fd is not None:
        os.write(int(fd), b"!")
        os.close(int(fd))
