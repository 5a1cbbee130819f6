"""The uvicorn server `pcem api` runs: a stop ends the notification streams at once.

A stream never finishes on its own, so uvicorn's graceful stop would wait for it
until its grace runs out, then cancel it (an error and a traceback in the log).
Told at the signal, each stream ends within one poll, completing its response
(the client reconnects elsewhere with ``Last-Event-ID``) and logging its request.
"""

from __future__ import annotations

import threading
from types import FrameType

import uvicorn

STOP_GRACE_SECONDS = 2  # for other requests still running; then they are cancelled


class StreamsEndingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, stopping: threading.Event) -> None:
        super().__init__(config)
        self.stopping = stopping  # the app's ``state.stopping``, which its streams watch

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.stopping.set()
        super().handle_exit(sig, frame)
