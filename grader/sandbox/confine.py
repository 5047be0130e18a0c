"""Confinement of a sandboxed child on Linux, applied before any student code runs.

Always: a new session (the parent kills the whole group), death with its supervisor, a private
working directory as cwd/HOME/TMPDIR, an explicit environment (environment.py), rlimits
(memory, file size, CPU time, no core dumps) and no dumpability (no other process may read its
memory). Where the privilege exists (root, or unprivileged user namespaces):
- its own cgroup, made by its supervisor (cgroups.py): memory, processes and CPU capped for the
  whole process tree;
- a network namespace with no interface up: no byte leaves the process, not even to 127.0.0.1;
- as root, a private root file system (pivot_root onto a tmpfs) showing only the system's
  libraries, the Python installation, a fresh /proc of its own PID namespace, a minimal /dev and
  its own folder, all read-only but that folder; elsewhere, a mount namespace in which every file
  system is read-only except the working directory (nothing hidden, and the report says so);
- no capabilities and `no_new_privs` (as root: so it cannot undo the above), and an unprivileged
  uid when the Python installation is readable by that uid.
What could not be applied is reported (`Confinement.missing`), never silently skipped.
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import signal
import stat
import sys
import tempfile
from dataclasses import dataclass, field

from grader.sandbox.cgroups import Cgroup
from grader.sandbox.environment import replace_environment, sandbox_environment

from grader.i18n import _, tr

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (
    0x00020000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217, "riscv64": 41}  # syscall numbers
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys/devices/system/cpu",
                "/sys/devices/system/node")
ETC_FILES = ("alternatives", "ca-certificates", "ca-certificates.conf", "fonts", "group", "host.conf", "hosts",
             "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "mime.types", "nsswitch.conf", "os-release",
             "passwd", "protocols", "services", "ssl", "timezone")
DEVICES = ("null", "zero", "full", "random", "urandom")
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
            report.missing.append(tr("namespaces (network, mount): {error}", error=error))
            return False
    uid, gid = os.geteuid(), os.getegid()
    try:
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
        return True
    except OSError as error:
        report.missing.append(tr("namespaces (network, mount): unprivileged user namespaces are not available "
                                 "({error})", error=error))
        return False


def _bind(source: str, target: str, read_only: bool = True, device: bool = False) -> None:
    """Bind `source` at `target` (made to match: a folder or an empty file), then make it read-only."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    _mount(source, target, MS_BIND)
    flags = MS_REMOUNT | MS_BIND | MS_NOSUID | (0 if device else MS_NODEV) | (MS_RDONLY if read_only else 0)
    _mount(None, target, flags)


def visible_paths() -> list[str]:
    """What a child sees of the machine's files: the system's programs and libraries, a few files
    of /etc, CPU topology, and exactly the Python installation(s) dlgrade runs from. Nothing
    else: no home folders, no /tmp but its own folder, no class, output or configuration."""
    import site

    import grader

    paths = list(SYSTEM_PATHS) + [f"/etc/{name}" for name in ETC_FILES]
    paths += [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *site.getsitepackages(),
              site.getusersitepackages(), os.path.dirname(os.path.abspath(grader.__file__))]
    chosen: list[str] = []
    for path in sorted({os.path.abspath(p) for p in paths if os.path.lexists(p)}, key=len):
        if not any(path == kept or path.startswith(kept.rstrip("/") + "/") for kept in chosen):
            chosen.append(path)
    return chosen


def _populate_root(root: str, workdir: str) -> None:
    """Fill the empty tmpfs at `root` with the visible paths, a fresh /proc, a minimal /dev and the
    child's own folder (the only writable place)."""
    for path in visible_paths():
        target = root + path
        if os.path.islink(path):  # /bin -> usr/bin on merged-/usr systems: the same link
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(os.readlink(path), target)
        else:
            _bind(path, target)
    os.makedirs(root + "/proc")
    _check(_libc.mount(b"proc", (root + "/proc").encode(), b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
           "mount /proc")
    os.makedirs(root + "/dev")
    _check(_libc.mount(b"tmpfs", (root + "/dev").encode(), b"tmpfs", MS_NOSUID, b"mode=755,size=1m"), "mount /dev")
    for device in DEVICES:
        if os.path.exists(f"/dev/{device}"):
            _bind(f"/dev/{device}", f"{root}/dev/{device}", read_only=False, device=True)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    os.makedirs(root + "/dev/shm")
    _check(_libc.mount(b"tmpfs", (root + "/dev/shm").encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                       f"size={SHM_BYTES}".encode()), "mount /dev/shm")
    _bind(workdir, root + workdir, read_only=False)


def _private_root(workdir: str, report: Confinement) -> None:
    """Make a new root file system of only what the child needs (see visible_paths) and switch to it.

    Needs root (a fresh /proc needs the child's own PID namespace). The new root is a tmpfs next
    to the working folder; pivot_root then detaches the old root, so no path leads back to it.
    """
    _mount(None, "/", MS_REC | MS_PRIVATE)
    root = os.path.join(os.path.dirname(workdir), "root")
    os.makedirs(root, exist_ok=True)
    _check(_libc.mount(b"tmpfs", root.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=755,size=1m"), "mount root")
    if platform.machine() not in PIVOT_ROOT:
        raise OSError(tr("pivot_root: unknown syscall number on {machine}", machine=platform.machine()))
    _populate_root(root, workdir)
    os.chdir(root)
    _check(_libc.syscall(PIVOT_ROOT[platform.machine()], b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detach the old root")
    os.chdir("/")
    _mount(None, "/", MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    report.applied.append(_("own file system view, read-only but its own folder: the Python installation and system "
                            "libraries; no other hand-in, output, configuration, home folder or /tmp"))
    report.applied.append(_("own /proc: sees its own processes only"))


def _read_only_file_systems(workdir: str, report: Confinement) -> None:
    """Fallback where no private root can be made: every mount read-only but the working
    directory (its own writable bind mount) and a small private tmpfs on /dev/shm. Nothing is
    hidden: the report says so."""
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
        report.missing.append(_("read-only file systems: could not remount ") + ", ".join(sorted(failed)[:5]))
    else:
        report.applied.append(_("file systems read-only except its own folder (its cwd, HOME and TMPDIR)"))


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
        report.applied.append(tr("unprivileged uid {uid}", uid=NOBODY))
    else:
        report.missing.append(tr("unprivileged uid: Python at {prefix} is not readable by uid {uid}; running as root "
                                 "without capabilities instead", prefix=sys.prefix, uid=NOBODY))
    for capability in range(64):
        _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (two words each): all empty
    try:
        _check(_libc.capset(header, data), "capset")
        report.applied.append(_("no capabilities"))
    except OSError as error:
        report.missing.append(tr("dropping capabilities: {error}", error=error))


def _set_limits(memory_mb: int, report: Confinement) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_NOFILE, (MAX_OPEN_FILES, MAX_OPEN_FILES))
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    report.applied.append(tr("memory cap {memory_mb} MB (RLIMIT_DATA), files up to {file_mb} MB, CPU {cpu_seconds} s",
                             memory_mb=memory_mb, file_mb=MAX_FILE_BYTES >> 20, cpu_seconds=CPU_SECONDS))


def _join(group: Cgroup | None, no_group: str | None, report: Confinement) -> None:
    if group is None:
        report.missing.append(no_group or _("per-hand-in cgroup: not made"))
        return
    try:
        group.join()
        report.applied.append(group.describe())
    except OSError as error:
        report.missing.append(tr("per-hand-in cgroup: cannot join it ({error})", error=error))


def confine(workdir: str, memory_mb: int, group: Cgroup | None = None, no_group: str | None = None) -> Confinement:
    """Apply everything this machine allows; returns what was and was not applied. `group` is
    the cgroup the supervisor made for this child (None: `no_group` says why there is none)."""
    report = Confinement()
    os.setsid()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    report.applied.append(_("own process group, killed with its supervisor"))
    _join(group, no_group, report)  # first: /sys/fs/cgroup is out of sight once the view below is made
    if os.getpid() == 1:
        report.applied.append(_("own PID namespace: sees no other process; all it starts dies with it"))
    else:
        report.missing.append(_("PID namespace (needs root): processes it starts are found and killed by scanning "
                                "/proc instead"))
    if _enter_namespaces(report):
        report.applied.append(_("no network (empty network namespace)"))
        try:
            if os.getpid() != 1:
                raise OSError(_("a fresh /proc needs its own PID namespace (root)"))
            _private_root(workdir, report)
        except OSError as error:
            report.missing.append(tr("own file system view and /proc (other hand-ins, the output folder and home "
                                     "folders stay readable): {error}", error=error))
            try:
                _read_only_file_systems(workdir, report)
            except OSError as error:
                report.missing.append(tr("read-only file systems: {error}", error=error))
    os.chdir(workdir)
    replace_environment(sandbox_environment(workdir))
    report.applied.append("environment: only " + ", ".join(sorted(os.environ)))
    tempfile.tempdir = workdir  # the zygote may have cached /tmp, read-only here (AutoGraph writes temp modules)
    if os.geteuid() == 0:
        _drop_privileges(workdir, report)
    _set_limits(memory_mb, report)
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    report.applied.append("not dumpable: no other process may read its memory")
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return report
