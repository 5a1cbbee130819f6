"""A CPU budget for a group of processes (a Linux cgroup's CPU quota): how the
multi-host test gives each app host cores of its own on a machine whose cores
all hosts share. A group starts unlimited; ``limit`` caps it (in CPUs: 0.5 is
half of one core's time) and ``unlimited`` lifts the cap again.

cgroup v1 (a ``cpu`` hierarchy, ``cpu.cfs_quota_us``) and v2 (``cpu.max``) are
both used where mounted; needs root. Where neither can be written, ``CpuGroup``
raises AssertionError saying so: the caller's test fails, it is never skipped.
"""

from __future__ import annotations

import secrets
from contextlib import suppress
from pathlib import Path

V1_ROOT = Path("/sys/fs/cgroup/cpu")
V2_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000  # the kernel's default period


class CpuGroup:
    def __init__(self, name: str) -> None:
        self.v1 = (V1_ROOT / "cpu.cfs_quota_us").exists()
        root = V1_ROOT if self.v1 else V2_ROOT
        self.path = root / f"{name}-{secrets.token_hex(3)}"
        try:
            if not self.v1:
                _enable_v2_cpu_controller()
            self.path.mkdir()
            self.unlimited()
        except OSError as error:
            raise AssertionError(
                f"cannot make a CPU budget on this machine ({error}); the multi-host test "
                "needs root and a cgroup cpu controller (v1 `cpu` or v2 `cpu.max`)"
            ) from error

    @property
    def procs(self) -> Path:
        """Writing a pid here moves that process in; what it forks afterwards stays in."""
        return self.path / "cgroup.procs"

    def joining(self) -> tuple[str, ...]:
        """A command prefix: the command joins the group, then runs in its place
        (``exec``: the same pid, so a caller's Popen is still the process itself).
        Put it before ``ip netns exec``, which mounts a /sys without the cgroups."""
        return ("sh", "-c", f'echo $$ > {self.procs} && exec "$@"', "sh")

    def limit(self, cpus: float) -> None:
        quota = round(cpus * PERIOD_US)
        self._write(f"{quota}", f"{quota} {PERIOD_US}")

    def unlimited(self) -> None:
        self._write("-1", f"max {PERIOD_US}")

    def throttled_seconds(self) -> float:
        """How long the group has waited on its quota, in all: proof the cap bit."""
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        if self.v1:
            return int(stat["throttled_time"]) / 1e9
        return int(stat["throttled_usec"]) / 1e6

    def remove(self) -> None:
        """Once its processes have ended (the kernel refuses a group in use)."""
        with suppress(OSError):
            self.path.rmdir()

    def _write(self, v1_quota: str, v2_max: str) -> None:
        if self.v1:
            (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(v1_quota)
        else:
            (self.path / "cpu.max").write_text(v2_max)


def _enable_v2_cpu_controller() -> None:
    control = V2_ROOT / "cgroup.subtree_control"
    if "cpu" not in control.read_text().split():
        control.write_text("+cpu")
