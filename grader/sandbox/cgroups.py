"""Control groups: memory, process count and CPU capped for a child's whole process tree.

rlimits cap one process; a hand-in that forks N processes would take N times the memory cap
and N cores from the classmates graded beside it. Each child therefore joins a cgroup of its
own (v2 where its controllers can be used, else the v1 memory, pids and cpu hierarchies),
created by its supervisor under the grader's own cgroup and removed when the child ends.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from grader.i18n import tr

CONTROLLERS = ("memory", "pids", "cpu")
COUNTER = "cpuacct"  # v1 only, where it is mounted apart from cpu: the CPU time the group used (cputime.py)
CPU_PERIOD_US = 100_000


def _write(path: str, value: str) -> None:
    with open(path, "w", encoding="ascii") as stream:
        stream.write(value)


def _read_counters(path: str) -> dict[str, int]:
    """`key value` lines (memory.events, memory.oom_control, pids.events) as a dict."""
    counters = {}
    try:
        with open(path, encoding="ascii") as stream:
            for line in stream:
                key, _, value = line.partition(" ")
                if value.strip().isdigit():
                    counters[key] = int(value)
    except OSError:
        pass
    return counters


@dataclass
class Cgroup:
    """One child's group: a directory per hierarchy (one for v2, one per controller for v1)."""

    version: int
    dirs: dict[str, str]  # controller -> directory (v2: every controller -> the same one)
    memory_mb: int
    max_processes: int

    def usage_file(self) -> str | None:
        """The file counting the CPU time of the group's processes (cputime.py), if there is one."""
        if self.version == 2:
            return os.path.join(self.dirs["cpu"], "cpu.stat")
        directory = self.dirs.get(COUNTER)
        return os.path.join(directory, "cpuacct.usage") if directory else None

    def join(self) -> None:
        """Move this process into the group (every process it starts will be in it too)."""
        for directory in sorted(set(self.dirs.values())):
            _write(os.path.join(directory, "cgroup.procs"), str(os.getpid()))

    def describe(self) -> str:
        return tr("own cgroup (v{version}) for all its processes: {memory_mb} MB of memory, at most {max_processes} "
                  "processes, CPU share capped", version=self.version, memory_mb=self.memory_mb,
                  max_processes=self.max_processes)

    def verdict(self) -> dict | None:
        """Why the kernel stopped the group's processes, if it did (after the child ended), as plain
        data for the parent to word (`describe_verdict`)."""
        memory, pids = self.dirs["memory"], self.dirs["pids"]
        if self.version == 2:
            oom = _read_counters(os.path.join(memory, "memory.events")).get("oom_kill", 0)
        else:
            oom = _read_counters(os.path.join(memory, "memory.oom_control")).get("oom_kill", 0)
        forks = _read_counters(os.path.join(pids, "pids.events")).get("max", 0)
        if not (oom or forks):
            return None
        return {"oom": bool(oom), "memory_mb": self.memory_mb, "refused_forks": int(forks),
                "max_processes": self.max_processes}

    def remove(self) -> None:
        """Remove the group's directories (its processes must be gone)."""
        for directory in sorted(set(self.dirs.values())):
            try:
                os.rmdir(directory)
            except OSError:
                pass


def describe_verdict(verdict: dict) -> str:
    """A cgroup verdict in words: what cap stopped the child's processes."""
    found = []
    if verdict.get("oom"):
        found.append(tr("out of memory: its processes together went over the {memory_mb} MB cap",
                        memory_mb=verdict["memory_mb"]))
    if verdict.get("refused_forks"):
        found.append(tr("{forks} process creations refused at the cap of {max_processes} processes",
                        forks=verdict["refused_forks"], max_processes=verdict["max_processes"]))
    return "; ".join(found)


@dataclass
class CgroupFactory:
    """Where this process's cgroups live; makes one group per child under them."""

    version: int
    parents: dict[str, str]  # controller -> the grader's own cgroup directory
    problem: str | None = None

    @classmethod
    def discover(cls) -> "CgroupFactory":
        """Find the grader's cgroups for memory, pids and cpu; `problem` says why none can be used."""
        try:
            return _discover()
        except OSError as error:
            return cls(0, {}, f"cgroups cannot be read here ({error})")

    def create(self, name: str, memory_mb: int, max_processes: int, cpus: float) -> Cgroup:
        """A fresh group `name` with the limits written; raises OSError when it cannot be made."""
        if self.problem:
            raise OSError(self.problem)
        dirs = {}
        try:
            for controller in [c for c in (*CONTROLLERS, COUNTER) if c in self.parents]:
                directory = os.path.join(self.parents[controller], name)
                if directory not in dirs.values():
                    os.mkdir(directory)
                dirs[controller] = directory
            group = Cgroup(self.version, dirs, memory_mb, max_processes)
            self._limit(group, memory_mb, max_processes, cpus)
        except OSError:
            Cgroup(self.version, dirs, memory_mb, max_processes).remove()
            raise
        return group

    def _limit(self, group: Cgroup, memory_mb: int, max_processes: int, cpus: float) -> None:
        memory, quota = str(memory_mb * 2**20), max(1000, int(cpus * CPU_PERIOD_US))
        _write(os.path.join(group.dirs["pids"], "pids.max"), str(max_processes))
        if self.version == 2:
            _write(os.path.join(group.dirs["memory"], "memory.max"), memory)
            if os.path.exists(os.path.join(group.dirs["memory"], "memory.swap.max")):
                _write(os.path.join(group.dirs["memory"], "memory.swap.max"), "0")
            _write(os.path.join(group.dirs["cpu"], "cpu.max"), f"{quota} {CPU_PERIOD_US}")
            return
        _write(os.path.join(group.dirs["memory"], "memory.limit_in_bytes"), memory)
        swap = os.path.join(group.dirs["memory"], "memory.memsw.limit_in_bytes")
        if os.path.exists(swap):
            try:
                _write(swap, memory)  # no swapping past the cap either
            except OSError:
                pass
        _write(os.path.join(group.dirs["cpu"], "cpu.cfs_period_us"), str(CPU_PERIOD_US))
        _write(os.path.join(group.dirs["cpu"], "cpu.cfs_quota_us"), str(quota))

    def sweep(self, prefix: str) -> None:
        """Remove groups named `prefix...` left behind by supervisors that were killed."""
        for parent in set(self.parents.values()):
            try:
                names = os.listdir(parent)
            except OSError:
                continue
            for name in names:
                if name.startswith(prefix):
                    try:
                        os.rmdir(os.path.join(parent, name))
                    except OSError:
                        pass


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, super options) of every cgroup mount."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        for line in info:
            left, _, right = line.partition(" - ")
            fstype, _, options = (right.split() + ["", "", ""])[:3]
            if fstype in ("cgroup", "cgroup2"):
                found.append((left.split()[4], fstype, set(options.split(","))))
    return found


def _discover() -> CgroupFactory:
    own: dict[str, str] = {}  # controller (or "" for v2) -> this process's cgroup path
    with open("/proc/self/cgroup", encoding="utf-8") as membership:
        for line in membership:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                own[controller] = path
    mounts = _mounts()
    v1 = {}
    for point, fstype, options in mounts:
        for controller in (*CONTROLLERS, COUNTER):
            if fstype == "cgroup" and controller in options and controller in own:
                v1[controller] = os.path.join(point, own[controller].lstrip("/"))
    if COUNTER in v1 and not os.access(v1[COUNTER], os.W_OK):
        del v1[COUNTER]
    if all(c in v1 for c in CONTROLLERS) and all(os.access(d, os.W_OK) for d in v1.values()):
        return CgroupFactory(1, v1)
    for point, fstype, _ in mounts:
        if fstype == "cgroup2" and "" in own:
            base = os.path.join(point, own[""].lstrip("/"))
            available = set(open(os.path.join(base, "cgroup.controllers"), encoding="ascii").read().split())
            if set(CONTROLLERS) <= available:
                try:
                    _write(os.path.join(base, "cgroup.subtree_control"), " ".join(f"+{c}" for c in CONTROLLERS))
                except OSError as error:
                    return CgroupFactory(2, {}, f"cgroup v2: cannot delegate {', '.join(CONTROLLERS)} from {base} "
                                                f"({error.strerror}); run the grader in a delegated cgroup")
                return CgroupFactory(2, {c: base for c in CONTROLLERS})
    missing = [c for c in CONTROLLERS if c not in v1]  # cpuacct is optional: without it, cputime.py reads /proc
    return CgroupFactory(0, {}, "no writable cgroup hierarchy with the "
                                f"{', '.join(missing or CONTROLLERS)} controller(s) (needs root or a delegated cgroup)")
