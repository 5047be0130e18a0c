"""The sandboxed child: confine itself, load the hand-in, run the probe, send plain frames.

This is the only place student code runs. It never returns: it ends with `os._exit`.
Events it sends, in order: `statement` (before each definition is executed, so the parent can
tell which one hung), `loaded`, then `begin`/`result` per call, then `done`.
"""

from __future__ import annotations

import faulthandler
import io
import os
import random
import resource
import signal
import sys
import time
from typing import Any

from grader import i18n
from grader.i18n import tr
from grader.sandbox.cgroups import Cgroup
from grader.sandbox.confine import confine
from grader.sandbox.protocol import FrameReader, encode_frame, write_all

OUTPUT_FILE = "output.txt"


def _confine(workdir: str, memory_mb: int, group: Cgroup | None, no_group: str | None) -> dict:
    """Confinement (see confine.py), default signal handling, output to a capped file."""
    faulthandler.disable()  # an inherited handler would write crash dumps to the parent's terminal
    report = confine(workdir, memory_mb, group, no_group)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing us
    null = os.open(os.devnull, os.O_RDONLY)
    output = os.open(OUTPUT_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(null)
    os.close(output)
    # Python-level streams onto those descriptors: the inherited objects may write to a
    # descriptor of the grader's (pytest's capture file, say), which is closed by now
    sys.stdin = sys.__stdin__ = open(0, encoding="utf-8", closefd=False)
    sys.stdout = sys.__stdout__ = _CappedOutput(1)
    sys.stderr = sys.__stderr__ = _CappedOutput(2)
    return report.as_dict()


class _CappedOutput(io.TextIOBase):
    """print() target that keeps output up to the file-size cap, then drops it silently: a
    flood of prints must not turn into an exception in the student's code."""

    def __init__(self, fd: int):
        self._fd = fd
        self._full = False

    def write(self, text: str) -> int:
        if not self._full:
            try:
                os.write(self._fd, text.encode("utf-8", "replace"))
            except OSError:  # EFBIG at the cap (SIGXFSZ is ignored)
                self._full = True
        return len(text)

    def fileno(self) -> int:
        return self._fd

    def writable(self) -> bool:
        return True


def _close_inherited_descriptors(keep: int) -> None:
    """Close every descriptor the zygote inherited from the grader (its terminal, open files)
    but stdin/stdout/stderr (redirected later) and the result pipe."""
    os.closerange(3, keep)
    os.closerange(keep + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def seed_everything(seed: int) -> None:
    """Python's, numpy's and TensorFlow's seeds (TF with one thread per child)."""
    import numpy as np
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    try:  # one thread each: deterministic reductions, and parallel children share the cores fairly
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass


def _serve(job: dict[str, Any], result_fd: int, confinement: dict) -> None:
    from grader.probes import PROBES
    from grader.sandbox.loader import load

    def emit(message: dict[str, Any]) -> None:
        write_all(result_fd, encode_frame(message))

    seed_everything(job.get("seed", 0))
    namespace, notes = load(job["plan"], lambda index: emit({"event": "statement", "index": index}))
    problems = {} if job.get("standalone") else \
        {target: _problem(namespace, target) for target in job.get("targets") or [job["target"]]}
    emit({"event": "loaded", "notes": notes, "problems": problems, "confinement": confinement})
    given_up = set(job.get("given_up", []))
    probe = PROBES[job["probe"]]
    for index in range(job["start"], len(job["calls"])):
        call = job["calls"][index]
        target = call.get("target", job["target"])
        if problems.get(target) or target in given_up:
            continue
        emit({"event": "begin", "call": index})
        started = time.perf_counter()
        view = dict(job, target=target, exempt=call.get("exempt", job.get("exempt", [])))
        result = probe(namespace, view, call)
        result.update(event="result", call=index, seconds=round(time.perf_counter() - started, 4))
        emit(result)
    emit({"event": "done"})


def _problem(namespace: dict, target: str) -> str | None:
    """Why `target` cannot be probed after loading, if it cannot."""
    found = namespace.get(target)
    if found is None:
        return tr("`{target}` was not defined after loading (see the load notes)", target=target)
    if not callable(found):
        return tr("`{target}` is a {kind} after loading, not a function or class", target=target,
                  kind=type(found).__name__)
    return None


def run(workdir: str, spec_fd: int, result_fd: int, group: Cgroup | None, no_group: str | None) -> None:
    """Entry point of the sandboxed process (forked by the supervisor, to join `group`, or
    to report `no_group` as the reason it has none); never returns."""
    code = 0
    try:
        job = FrameReader(spec_fd).read(deadline=time.monotonic() + 60)
        os.close(spec_fd)
        i18n.use(job.get("language", "en"))  # catalogs were read before the fork: no file access needed
        _close_inherited_descriptors(keep=result_fd)
        confinement = _confine(workdir, int(job.get("memory_mb", 2048)), group, no_group)
        _serve(job, result_fd, confinement)
    except BaseException:  # report nothing to the parent but the exit status
        code = 70
        try:
            import traceback

            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
        except BaseException:
            pass
    os._exit(code)
