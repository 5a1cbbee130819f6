"""A progress line on stderr: done/total, events per second and time left."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 24


def render(label: str, done: int, total: int, elapsed: float) -> str:
    """``people [#######-----] 52% 520,000/1,000,000 events 21,345 events/s ETA 0:00:22``"""
    fraction = min(done / total, 1.0) if total else 1.0
    filled = round(fraction * WIDTH)
    rate = done / elapsed if elapsed > 0 else 0.0
    left = (total - done) / rate if rate > 0 else None
    eta = _clock(left) if left is not None else "--:--:--"
    return (
        f"{label} [{'#' * filled}{'-' * (WIDTH - filled)}] {fraction:4.0%}"
        f" {done:,}/{total:,} events {rate:,.0f} events/s ETA {eta}"
    )


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class ProgressBar:
    """Redrawn in place on a terminal; a line every few seconds otherwise (logs, CI)."""

    def __init__(
        self,
        label: str,
        stream: TextIO = sys.stderr,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.stream = stream
        self.clock = clock
        self.interactive = stream.isatty()
        self.interval = 0.2 if self.interactive else 5.0
        self.start: tuple[float, int] | None = None
        self.shown_at = float("-inf")
        self.line = ""

    def update(self, position: int, head: int) -> None:
        now = self.clock()
        if self.start is None:
            self.start = (now, position)
        started_at, first = self.start
        self.line = render(self.label, position - first, head - first, now - started_at)
        if now - self.shown_at >= self.interval:
            self.shown_at = now
            self._show()

    def finish(self, message: str) -> None:
        if self.line:
            self._show()
        end = "\n" if self.interactive and self.line else ""
        self.stream.write(f"{end}{self.label}: {message}\n")
        self.stream.flush()

    def _show(self) -> None:
        self.stream.write(f"\r{self.line}\x1b[K" if self.interactive else f"{self.line}\n")
        self.stream.flush()
