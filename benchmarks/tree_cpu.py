"""Wall time and CPU time of a command's whole process tree, for benchmarks on a shared machine.

Wall time on a machine shared with other work says as much about the others as about dlgrade;
the CPU time the grader's processes used (the zygote and every sandboxed child included) does
not. The command runs in a cgroup of its own (cgroup v2, or v1's cpuacct hierarchy), whose
counter is hierarchical: the sandboxed children's own cgroups, made under it, count too. Where
no cgroup can be made (not root, no delegation), the CPU time is None.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import time

_names = itertools.count()


def _own_group() -> tuple[str, str] | None:
    """(directory under which to make groups, counter file name), or None."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as membership:
            lines = [line.rstrip("\n").split(":", 2) for line in membership]
    except OSError:
        return None
    for _, controllers, path in lines:
        if "cpuacct" in controllers.split(","):
            for mount in ("/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpuacct,cpu"):
                base = os.path.join(mount, path.lstrip("/"))
                if os.access(base, os.W_OK):
                    return base, "cpuacct.usage"
    for _, controllers, path in lines:
        if controllers == "":
            base = os.path.join("/sys/fs/cgroup", path.lstrip("/"))
            if os.access(base, os.W_OK) and os.path.exists(os.path.join(base, "cpu.stat")):
                return base, "cpu.stat"
    return None


def _usage(directory: str, counter: str) -> float:
    with open(os.path.join(directory, counter), encoding="ascii") as stream:
        text = stream.read()
    if counter == "cpu.stat":
        return next(int(line.split()[1]) for line in text.splitlines() if line.startswith("usage_usec")) / 1e6
    return int(text) / 1e9


def run(command: list[str], **options) -> tuple[float, float | None, subprocess.CompletedProcess]:
    """Run `command` (subprocess.run options); its wall seconds, CPU seconds (None where unmeasurable), result."""
    found = _own_group()
    directory = None
    if found is not None:
        directory = os.path.join(found[0], f"dlgrade-bench-{os.getpid()}-{next(_names)}")
        try:
            os.mkdir(directory)
        except OSError:
            directory = None
    procs = os.path.join(directory, "cgroup.procs") if directory else None

    def join() -> None:
        if procs:
            with open(procs, "w", encoding="ascii") as stream:
                stream.write(str(os.getpid()))

    started = time.perf_counter()
    try:
        done = subprocess.run(command, preexec_fn=join, **options)
        wall = time.perf_counter() - started
        cpu = _usage(directory, found[1]) if directory else None
    finally:
        if directory:
            for _attempt in range(50):  # leftover children of the grader's may still be exiting
                try:
                    os.rmdir(directory)
                    break
                except OSError:
                    time.sleep(0.1)
    return wall, cpu, done
