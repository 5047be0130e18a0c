"""The zygote: a process that imports numpy and TensorFlow once (no op run) and forks children.

The parent forks it first thing, before it runs any TF op (ideally before importing
TensorFlow at all): the zygote then imports TensorFlow on one core while the parent loads the
hand-ins and imports TensorFlow for its references on the other. Per job the
zygote forks a *supervisor*, which forks the sandboxed child, reports its pid, waits for it,
kills whatever it left behind (the supervisor is a child subreaper) and reports the exit status.
Only the supervisor writes the status pipe; the child cannot forge it because it closed it.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass

from grader.sandbox.protocol import ChannelClosed, ChannelTimeout, FrameReader, ProtocolError, encode_frame, write_all

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_CLONE_NEWPID = 0x20000000


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
        return f"was killed by signal {number} ({name})"
    return f"exited with status {os.WEXITSTATUS(status)}"


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
    for _ in range(100):
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


def _supervise(workdir: str, spec_fd: int, result_fd: int, status_fd: int) -> None:
    from grader.sandbox import child

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the zygote, which dies with the grader
    if os.geteuid() == 0:  # the child becomes pid 1 of its own namespace: it sees no process outside,
        ctypes.CDLL(None).unshare(_CLONE_NEWPID)  # and when it ends the kernel kills all it started
    pid = os.fork()
    if pid == 0:
        os.close(status_fd)
        child.run(workdir, spec_fd, result_fd)
    os.close(spec_fd)
    os.close(result_fd)
    write_all(status_fd, encode_frame({"pid": pid}))
    _, status = os.waitpid(pid, 0)
    _reap_descendants()
    write_all(status_fd, encode_frame({"exit": describe_status(status)}))
    os._exit(0)


def _serve(control: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped automatically
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    import numpy  # noqa: F401  (imported once here so that every child inherits it)
    import tensorflow  # noqa: F401

    from grader.probes import PROBES  # noqa: F401
    from grader.sandbox import child, tripwire  # noqa: F401

    tripwire.install()
    while True:
        message, fds, _, _ = socket.recv_fds(control, 65536, 3)
        if not message:
            return
        request = json.loads(message)
        if os.fork() == 0:
            control.close()
            try:
                _supervise(request["workdir"], *fds)
            finally:
                os._exit(71)
        for fd in fds:
            os.close(fd)
        control.send(b"ok")


@dataclass
class Child:
    """Parent-side handle of one sandboxed child."""

    pid: int
    results: FrameReader
    status: FrameReader
    workdir: str

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
            exit_description = self.status.read(time.monotonic() + 10)["exit"]
        except (ChannelClosed, ChannelTimeout, ProtocolError, KeyError):
            exit_description = "ended (its supervisor did not report how)"
        os.close(self.results.fd)
        os.close(self.status.fd)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return exit_description


class Zygote:
    """Fork server; create it before this process runs any TF op (requests wait while it starts)."""

    def __init__(self) -> None:
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._lock = threading.Lock()
        self.pid = os.fork()
        if self.pid == 0:
            self._control.close()
            try:
                _serve(theirs)
            finally:
                os._exit(0)
        theirs.close()

    def spawn(self, job: dict) -> Child:
        """Start a sandboxed child running `job`; its pid is known when this returns."""
        workdir = tempfile.mkdtemp(prefix="dlgrade-child-")
        spec_fd = os.memfd_create("dlgrade-job")
        write_all(spec_fd, encode_frame(job))
        os.lseek(spec_fd, 0, os.SEEK_SET)
        result_read, result_write = os.pipe()
        status_read, status_write = os.pipe()
        try:
            with self._lock:
                socket.send_fds(self._control, [json.dumps({"workdir": workdir}).encode()],
                                [spec_fd, result_write, status_write])
                if self._control.recv(16) != b"ok":
                    raise RuntimeError("the zygote stopped answering")
        finally:
            for fd in (spec_fd, result_write, status_write):
                os.close(fd)
        status = FrameReader(status_read)
        pid = status.read(time.monotonic() + 30)["pid"]
        return Child(pid, FrameReader(result_read), status, workdir)

    def close(self) -> None:
        """Stop the zygote at once, even mid-import (call it when no job is running: the running
        supervisors die with it)."""
        self._control.close()
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass

    def __enter__(self) -> "Zygote":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
