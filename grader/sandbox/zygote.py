"""The zygote: a process that imports numpy and TensorFlow once (no op run) and forks children.

The grader starts it first thing, as a fresh interpreter with the explicit environment of
environment.py (never a fork of the grader: nothing of the grader's memory, environment or
arguments reaches it), so that its TensorFlow import overlaps the grader's own start-up. Per job
the zygote forks a *supervisor*, which creates the child's cgroup, forks the sandboxed child,
reports its pid, waits for it, kills whatever it left behind (the supervisor is a child
subreaper), removes the cgroup and reports how the child ended. Only the supervisor writes the
status pipe; the child cannot forge it because it closed it.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from grader import profile
from grader.i18n import _, tr
from grader.sandbox.cgroups import Cgroup, CgroupFactory, describe_verdict
from grader.sandbox.cputime import CpuClock
from grader.sandbox.environment import sandbox_environment
from grader.sandbox.protocol import ChannelClosed, ChannelTimeout, FrameReader, ProtocolError, encode_frame, write_all

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_CLONE_NEWPID = 0x20000000
CGROUP_PREFIX = "dlgrade-"  # children's cgroups: dlgrade-<zygote pid>-<supervisor pid>


def _prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: lose the extra guarantee, keep working
        pass


def describe_status(status: int) -> str:
    """`exited with status 3` or `was killed by signal 11 (SIGSEGV)`."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "unknown"
        return tr("was killed by signal {number} ({name})", number=number, name=name)
    return tr("exited with status {status}", status=os.WEXITSTATUS(status))


def describe_exit(report: object) -> str:
    """The supervisor's plain-data report of how a child ended, in words (worded here, in the parent,
    in the language of the run)."""
    if not isinstance(report, dict) or not isinstance(report.get("status"), int):
        return _("ended (its supervisor did not report how)")
    how = describe_status(report["status"])
    verdict = report.get("cgroup")
    return how + (f" ({describe_verdict(verdict)})" if isinstance(verdict, dict) else "")


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _reap_descendants() -> None:
    """Kill and reap every process that was re-parented to this supervisor."""
    me = os.getpid()
    for _round in range(100):
        orphans = _children_of(me)
        if not orphans:
            return
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in orphans:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _own_cgroup(cgroups: CgroupFactory, name: str, resources: dict) -> tuple[Cgroup | None, str | None]:
    """The child's cgroup, or None and why there is none."""
    try:
        return cgroups.create(name, int(resources["memory_mb"]), int(resources["max_processes"]),
                              float(resources["cpus"])), None
    except (OSError, KeyError, ValueError) as error:
        return None, f"per-hand-in cgroup (memory, processes and CPU for its whole process tree): {error}"


def _supervise(request: dict, cgroups: CgroupFactory, spec_fd: int, result_fd: int, status_fd: int) -> None:
    from grader.sandbox import child

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the zygote, which dies with the grader
    group, missing = _own_cgroup(cgroups, f"{CGROUP_PREFIX}{os.getppid()}-{os.getpid()}", request["resources"])
    if os.geteuid() == 0:  # the child becomes pid 1 of its own namespace: it sees no process outside,
        ctypes.CDLL(None).unshare(_CLONE_NEWPID)  # and when it ends the kernel kills all it started
    pid = os.fork()
    if pid == 0:
        os.close(status_fd)
        child.run(request["workdir"], spec_fd, result_fd, group, missing)
    os.close(spec_fd)
    os.close(result_fd)
    write_all(status_fd, encode_frame({"pid": pid, "cpu_usage": group.usage_file() if group is not None else None}))
    _, status = os.waitpid(pid, 0)
    _reap_descendants()
    report = {"status": status, "cgroup": group.verdict() if group is not None else None}
    if group is not None:
        group.remove()
    write_all(status_fd, encode_frame({"exit": report}))
    os._exit(0)


def _serve(control: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped automatically
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    import numpy  # noqa: F401  (imported once here so that every child inherits it)
    import tensorflow  # noqa: F401

    from grader.probes import PROBES  # noqa: F401
    from grader.sandbox import child, loader, tripwire  # noqa: F401

    tripwire.install()
    cgroups = CgroupFactory.discover()
    while True:
        message, fds, _, _ = socket.recv_fds(control, 65536, 3)
        if not message:
            return
        request = json.loads(message)
        if os.fork() == 0:
            control.close()
            try:
                _supervise(request, cgroups, *fds)
            finally:
                os._exit(71)
        for fd in fds:
            os.close(fd)
        control.send(b"ok")


def main(control_fd: int) -> None:
    """Entry point of the zygote process (see Zygote); serves until the grader hangs up."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the grader died before the line above took effect
        os._exit(0)
    sys.path[:] = [entry for entry in sys.path if entry not in ("", os.getcwd())]
    try:
        _serve(socket.socket(fileno=control_fd))
    finally:
        os._exit(0)


@dataclass
class Child:
    """Parent-side handle of one sandboxed child."""

    pid: int
    results: FrameReader
    status: FrameReader
    folder: str  # its private folder (home/ is its working directory)
    cpu: CpuClock  # the CPU time its process tree has used (its cgroup's, else its process group's)

    def kill(self) -> None:
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def finish(self) -> str:
        """Kill what is left, wait for the supervisor's report, clean up; returns how the child ended."""
        self.kill()
        try:
            exit_description = describe_exit(self.status.read(time.monotonic() + 10)["exit"])
        except (ChannelClosed, ChannelTimeout, ProtocolError, KeyError):
            exit_description = describe_exit(None)
        os.close(self.results.fd)
        os.close(self.status.fd)
        shutil.rmtree(self.folder, ignore_errors=True)
        return exit_description


class Zygote:
    """Fork server; start it early (requests wait while it imports TensorFlow)."""

    def __init__(self) -> None:
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._lock = threading.Lock()
        package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        bootstrap = (f"import sys; sys.path.insert(0, {package_parent!r}); "
                     f"from grader.sandbox.zygote import main; main({theirs.fileno()})")
        self._process = subprocess.Popen(
            [sys.executable, "-c", bootstrap], pass_fds=[theirs.fileno()], cwd="/", env=sandbox_environment("/"),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self._process.pid
        self._started, self._ready = profile.now(), False
        theirs.close()

    def spawn(self, job: dict, resources: dict) -> Child:
        """Start a sandboxed child running `job`, its process tree capped by `resources`
        (Job.resources); its pid is known when this returns."""
        folder = tempfile.mkdtemp(prefix="dlgrade-child-")
        workdir = os.path.join(folder, "home")
        os.mkdir(workdir, 0o700)
        spec_fd = os.memfd_create("dlgrade-job")
        write_all(spec_fd, encode_frame(job))
        os.lseek(spec_fd, 0, os.SEEK_SET)
        result_read, result_write = os.pipe()
        status_read, status_write = os.pipe()
        try:
            with self._lock:
                socket.send_fds(self._control, [json.dumps({"workdir": workdir, "resources": resources}).encode()],
                                [spec_fd, result_write, status_write])
                if self._control.recv(16) != b"ok":
                    raise RuntimeError("the zygote stopped answering")
                if not self._ready:
                    self._ready = True
                    profile.mark("zygote ready (numpy and TensorFlow imported, no op run)", self._started)
        finally:
            for fd in (spec_fd, result_write, status_write):
                os.close(fd)
        status = FrameReader(status_read)
        started = status.read(time.monotonic() + 30)
        pid = started["pid"]
        usage = started.get("cpu_usage")
        clock = CpuClock(pid, usage if isinstance(usage, str) else None)
        return Child(pid, FrameReader(result_read), status, folder, clock)

    def close(self) -> None:
        """Stop the zygote at once, even mid-import (call it when no job is running: the running
        supervisors die with it)."""
        self._control.close()
        self._process.kill()
        self._process.wait()
        CgroupFactory.discover().sweep(f"{CGROUP_PREFIX}{self.pid}-")

    def __enter__(self) -> "Zygote":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
