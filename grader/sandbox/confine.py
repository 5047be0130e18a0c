"""Confinement of a sandboxed child on Linux, applied before any student code runs.

Always: a new session (the parent kills the whole group), death with its supervisor, a private
working directory as cwd/HOME/TMPDIR, and rlimits (memory, file size, CPU time, no core dumps).
Where the privilege exists (root, or unprivileged user namespaces):
- a network namespace with no interface up: no byte leaves the process, not even to 127.0.0.1;
- a mount namespace in which every file system is read-only except the working directory (and a
  private /dev/shm);
- no capabilities and `no_new_privs` (as root: so it cannot undo the above), and an unprivileged
  uid when the Python installation is readable by that uid.
What could not be applied is reported (`Confinement.missing`), never silently skipped.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import stat
import sys
import tempfile
from dataclasses import dataclass, field

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (
    0x00020000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
NOBODY = 65534
SHM_BYTES = 64 * 1024 * 1024  # a private /dev/shm (multiprocessing needs one)
MAX_FILE_BYTES = 16 * 1024 * 1024
CPU_SECONDS = 600  # a backstop for anything that outlives the parent's wall-clock deadlines
MAX_OPEN_FILES = 1024

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class Confinement:
    """What was applied to this child, for the report's environment section."""

    applied: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"applied": self.applied, "missing": self.missing}


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, flags: int) -> None:
    _check(_libc.mount(source.encode() if source else None, target.encode(), None, flags, None), f"mount {target}")


def _mount_points() -> list[tuple[str, int]]:
    """(mount point, flags to keep when remounting) for every mount this process sees."""
    keep = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        for line in info:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            flags = sum(keep.get(option, 0) for option in fields[5].split(","))
            found.append((point, flags))
    return found


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as stream:
        stream.write(text)


def _enter_namespaces(report: Confinement) -> bool:
    """New network, mount and IPC namespaces; as non-root inside a user namespace. True on success."""
    if os.geteuid() == 0:
        flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC
        try:
            _check(_libc.unshare(flags), "unshare")
            return True
        except OSError as error:
            report.missing.append(f"namespaces (network, mount): {error}")
            return False
    uid, gid = os.geteuid(), os.getegid()
    try:
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
        return True
    except OSError as error:
        report.missing.append(f"namespaces (network, mount): unprivileged user namespaces are not available ({error})")
        return False


def _read_only_file_systems(workdir: str, report: Confinement) -> None:
    """Every mount read-only but the working directory (its own writable bind mount) and a small
    private tmpfs on /dev/shm. /tmp stays visible (Python or the hand-in may live there) but
    read-only: TMPDIR and HOME point at the working directory."""
    _mount(None, "/", MS_REC | MS_PRIVATE)
    _mount(workdir, workdir, MS_BIND)
    failed = []
    for point, flags in _mount_points():
        if point == workdir:
            continue
        try:
            _mount(None, point, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        except OSError:
            failed.append(point)
    if os.path.isdir("/dev/shm"):
        try:
            _check(_libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV,
                               f"size={SHM_BYTES}".encode()), "mount /dev/shm")
        except OSError:
            failed.append("/dev/shm")
    if failed:
        report.missing.append("read-only file systems: could not remount " + ", ".join(sorted(failed)[:5]))
    else:
        report.applied.append("file systems read-only except its own folder (its cwd, HOME and TMPDIR)")


def _readable_by_others(path: str) -> bool:
    """Whether an unprivileged uid can traverse to and read `path` (every parent folder o+x)."""
    current = os.path.abspath(path)
    while True:
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return False
        if not mode & (stat.S_IXOTH if stat.S_ISDIR(mode) else stat.S_IROTH):
            return False
        parent = os.path.dirname(current)
        if parent == current:
            return True
        current = parent


def _drop_privileges(home: str, report: Confinement) -> None:
    """As root: become `nobody` if Python stays importable for it, and drop every capability."""
    import numpy

    if _readable_by_others(numpy.__file__) and _readable_by_others(os.__file__):
        os.chown(home, NOBODY, NOBODY)
        for name in os.listdir(home):
            os.chown(os.path.join(home, name), NOBODY, NOBODY)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        report.applied.append(f"unprivileged uid {NOBODY}")
    else:
        report.missing.append(f"unprivileged uid: Python at {sys.prefix} is not readable by uid {NOBODY}; "
                              "running as root without capabilities instead")
    for capability in range(64):
        _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (two words each): all empty
    try:
        _check(_libc.capset(header, data), "capset")
        report.applied.append("no capabilities")
    except OSError as error:
        report.missing.append(f"dropping capabilities: {error}")


def _set_limits(memory_mb: int, report: Confinement) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_NOFILE, (MAX_OPEN_FILES, MAX_OPEN_FILES))
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    report.applied.append(f"memory cap {memory_mb} MB (RLIMIT_DATA), files up to {MAX_FILE_BYTES >> 20} MB, "
                          f"CPU {CPU_SECONDS} s")


def confine(workdir: str, memory_mb: int) -> Confinement:
    """Apply everything this machine allows; returns what was and was not applied."""
    report = Confinement()
    os.setsid()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    report.applied.append("own process group, killed with its supervisor")
    if os.getpid() == 1:
        report.applied.append("own PID namespace: sees no other process; all it starts dies with it")
    else:
        report.missing.append("PID namespace (needs root): processes it starts are found and killed by "
                              "scanning /proc instead")
    home = workdir
    if _enter_namespaces(report):
        report.applied.append("no network (empty network namespace)")
        try:
            _read_only_file_systems(workdir, report)
        except OSError as error:
            report.missing.append(f"read-only file systems: {error}")
    os.chdir(home)
    for name in ("HOME", "TMPDIR", "TMP", "TEMP"):
        os.environ[name] = home
    tempfile.tempdir = home  # the zygote may have cached /tmp, read-only here (AutoGraph writes temp modules)
    if os.geteuid() == 0:
        _drop_privileges(home, report)
    _set_limits(memory_mb, report)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return report
