"""Timing a call many times, and its percentiles."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(runs: int, call: Callable[[], object]) -> list[float]:
    """Seconds each of ``runs`` calls took."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100)
    return f"p50 {q[49]:7.3f} ms   p95 {q[94]:7.3f} ms   p99 {q[98]:7.3f} ms"
