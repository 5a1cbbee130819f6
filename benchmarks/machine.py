"""One line about the machine, printed first by every benchmark.

The development VMs have differed threefold in pure-Python speed from one day
to the next, so a figure is only comparable with another measured beside the
same reference.
"""

from __future__ import annotations

import os
import platform
import time


def describe() -> str:
    started = time.perf_counter()
    sum(range(10**7))
    reference_ms = (time.perf_counter() - started) * 1000
    return (
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()},"
        f" pure-Python reference sum(range(10**7)) {reference_ms:.0f} ms"
    )
