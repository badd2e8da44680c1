"""CPU time of the local platform's processes, from their own accounting (psutil).

Each part of the platform (an emulator, the providers sandbox, a function) is a
process tree: a function runs as the supervisor, functions-framework's gunicorn
arbiter under it and the gunicorn worker under that. A part's CPU time is the
user + system time of every live process in its tree plus the time its processes
collected from children that have already exited, so a worker that is replaced
mid-run still counts, once.

A benchmark takes a `CpuSnapshot` before and after what it measures and divides the
difference by how many operations completed (`cpu_ms_per`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import psutil

THIS_PROCESS = "benchmark client"


def tree_cpu_s(pid: int) -> float:
    """User + system seconds of a process tree, exited children included; 0 once it is gone."""
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in members:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:  # exited between the listing and now
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


@dataclass(frozen=True)
class CpuSnapshot:
    """Every part's CPU seconds so far, and the wall-clock instant they were read."""

    at: float  # time.monotonic()
    cpu_s: Mapping[str, float]


@dataclass(frozen=True)
class CpuMeter:
    """Reads the CPU time of named process trees (part name -> root pid) and of this process."""

    pids: Mapping[str, int]

    def snapshot(self) -> CpuSnapshot:
        cpu_s = {name: tree_cpu_s(pid) for name, pid in self.pids.items()}
        own = psutil.Process().cpu_times()
        cpu_s[THIS_PROCESS] = own.user + own.system
        return CpuSnapshot(time.monotonic(), cpu_s)


@dataclass(frozen=True)
class CpuUse:
    """What each part spent between two snapshots, per completed operation and per second."""

    operations: int
    wall_s: float
    cpu_s: Mapping[str, float]  # part -> CPU seconds over the interval

    @property
    def platform_cpu_s(self) -> float:
        """The platform's share: every part but the benchmark's own process."""
        return sum(s for name, s in self.cpu_s.items() if name != THIS_PROCESS)

    def ms_per_operation(self, part: str) -> float:
        return self.cpu_s[part] * 1000 / self.operations

    @property
    def platform_ms_per_operation(self) -> float:
        return self.platform_cpu_s * 1000 / self.operations

    @property
    def platform_cores(self) -> float:
        """The platform's average number of busy cores over the interval."""
        return self.platform_cpu_s / self.wall_s


def cpu_use(before: CpuSnapshot, after: CpuSnapshot, operations: int) -> CpuUse:
    """The CPU each part spent from `before` to `after`, for `operations` completed operations.

    A part missing from `before` started in between and counts from zero; a part whose
    counter went backwards (its process was restarted: a new tree) counts what the new
    tree has spent.
    """
    if operations <= 0:
        raise ValueError(f"operations must be positive, not {operations}")
    if after.at <= before.at:
        raise ValueError("the second snapshot must be taken after the first")
    spent = {}
    for name, now in after.cpu_s.items():
        then = before.cpu_s.get(name, 0.0)
        spent[name] = now - then if now >= then else now
    return CpuUse(operations=operations, wall_s=after.at - before.at, cpu_s=spent)
