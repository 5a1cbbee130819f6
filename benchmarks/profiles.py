"""py-spy around a measurement: where a server process spends its CPU.

``record`` starts ``py-spy record -f raw`` on a process for a number of seconds (on-CPU
samples only: a server waiting on its socket is not what is measured); ``summary``
reads the folded stacks back as the share of samples in which each function was on
the stack (inclusive) and on top of it (self), the two views a profile needs before
any cut is chosen.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")


def record(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes] | None:
    """A running py-spy on ``pid``, or None when py-spy is not installed."""
    if not PY_SPY.exists():
        print("!! no py-spy beside this Python: not profiled", flush=True)
        return None
    command = [str(PY_SPY), "record", "-p", str(pid), "-d", str(max(1, int(seconds)))]
    command += ["-f", "raw", "-o", str(output), "--nonblocking", "--rate", "200"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summary(profiler: subprocess.Popen[bytes], output: Path, *, top: int = 25) -> list[str]:
    """The functions most often on the stack and on top of it, as shares of samples."""
    try:
        profiler.wait(timeout=120)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait()
    stacks = _folded(output)
    total = sum(stacks.values())
    if not total:
        return [f"(py-spy wrote nothing to {output})"]
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    for stack, samples in stacks.items():
        frames = [_short(frame) for frame in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += samples
        leaf[frames[-1]] += samples
    lines = [f"py-spy: {total} on-CPU samples; share of samples with the function on the stack:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["  on top of the stack (self time):"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in leaf.most_common(top // 2)]
    lines += [f"  raw profile: {output}"]
    return lines


def _folded(output: Path) -> Counter[str]:
    stacks: Counter[str] = Counter()
    if output.exists():
        for line in output.read_text().splitlines():
            stack, _, samples = line.rpartition(" ")
            if samples.isdigit():
                stacks[stack] += int(samples)
    return stacks


def _short(frame: str) -> str:
    """``handle (litestar/app.py:123)`` → ``handle (litestar/app.py)``: a function, not a
    line, so that its samples add up."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/pcem/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"
