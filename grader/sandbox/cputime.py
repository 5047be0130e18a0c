"""The CPU time a sandboxed child's whole process tree has used, read by the parent.

Caps on a student's calls count CPU time, not wall time: on a machine shared with other graders
a call waits for a core, and the same hand-in must get the same verdict idle or busy. The count
is the child's cgroup's (cpu.stat `usage_usec` in v2, `cpuacct.usage` in v1: every process the
child started, alive or gone), else, where the child has no cgroup, the sum of utime + stime
(+ cutime + cstime, its reaped children) of the processes in the child's process group, read
from /proc. Neither can be forged from inside: the child sees neither file.
"""

from __future__ import annotations

import os
import time

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
RESCAN_SECONDS = 1.0  # without a cgroup: how often /proc is searched for the group's new processes


def read_cgroup_usage(path: str) -> float | None:
    """Seconds of CPU in a cgroup's counter file (v2 cpu.stat or v1 cpuacct.usage); None if unreadable."""
    try:
        with open(path, encoding="ascii") as stream:
            text = stream.read()
    except OSError:
        return None
    if path.endswith("cpu.stat"):
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec" and value.strip().isdigit():
                return int(value) / 1e6
        return None
    return int(text) / 1e9 if text.strip().isdigit() else None


def _stat_fields(pid: int) -> list[bytes] | None:
    """/proc/<pid>/stat after the command name (field 3 onwards), or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _group_members(group: int) -> list[int]:
    """Every process whose process group is `group` (a scan of /proc)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None and int(fields[2]) == group:
                members.append(int(entry))
    return members


class CpuClock:
    """Seconds of CPU used by one child's process tree: its cgroup's counter, else its process group's."""

    def __init__(self, pid: int, usage_file: str | None = None):
        self.pid = pid
        self.usage_file = usage_file
        self._members = [pid]
        self._scanned = 0.0
        self._last = 0.0

    @property
    def source(self) -> str:
        """What is counted, for messages and tests: "cgroup" or "process group"."""
        return "cgroup" if self.usage_file else "process group"

    def seconds(self) -> float:
        """CPU seconds so far (never decreasing: a counter that went away keeps its last value)."""
        used = read_cgroup_usage(self.usage_file) if self.usage_file else self._group_seconds()
        if used is not None:
            self._last = max(self._last, used)
        return self._last

    def _group_seconds(self) -> float | None:
        if time.monotonic() - self._scanned >= RESCAN_SECONDS:
            self._members = _group_members(self.pid) or [self.pid]
            self._scanned = time.monotonic()
        total, found = 0, False
        for pid in self._members:
            fields = _stat_fields(pid)
            if fields is None or int(fields[2]) != self.pid:
                continue
            found = True
            total += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
        return total / TICKS if found else None
