"""Batch grading on a Dask cluster: the same coordinator, hand-ins graded by warm Dask workers.

The coordinator (batch.run_batch) stays the only writer of the gradebook and the reports; this
module is its executor. No shared file system is assumed: each hand-in's graded files travel as
bytes (with their modification times, which a late policy may read), under a size cap, and the
worker unpacks them into a private temporary folder, grades them with its one warm Grader (its
own zygote, started when the worker starts and closed when it stops) and returns the results
contract as a plain dict. A worker whose grader key (version, grading code and data, settings,
course configuration) differs from the coordinator's is refused: it is given no hand-in.

    dlgrade batch class/ --scheduler tcp://host:8786     # a running cluster
    dlgrade batch class/ --scheduler local:4             # a LocalCluster of 4 worker processes
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path, PurePosixPath

from grader.batch import BatchSettings, WorkersLost, grade_one
from grader.discover import DEFAULT_MAX_FILE_BYTES, GRADED_SUFFIXES, find_sources, read_source
from grader.i18n import N_, _, tr
from grader.results import SubmissionResult
from grader.scoring import SUBMITTED_AT_FILE

try:
    from distributed import WorkerPlugin
except ImportError:  # the dask extra is not installed: DaskWorkers says how to install it
    WorkerPlugin = object

PLUGIN_NAME = "dlgrade"
MAX_HANDIN_BYTES = 64 * 2**20  # what one hand-in may send over the network
ALLOWED_FAILURES = 1  # a hand-in whose worker died is run once more elsewhere, then recorded as failed
INSTALL_HINT = N_("grading on Dask needs the dask extra: pip install 'dlgrade[dask]'")


class HandinTooLarge(ValueError):
    """A hand-in whose graded files exceed MAX_HANDIN_BYTES."""


def pack(handin: Path, max_bytes: int = MAX_HANDIN_BYTES,
         max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> dict[str, tuple[bytes, float]]:
    """The files dlgrade grades of a hand-in (each up to `max_file_bytes`) and its `.submitted_at`,
    as relative path -> (bytes, modification time); raises HandinTooLarge past `max_bytes` in all."""
    files, total = {}, 0
    sources = find_sources(handin, max_file_bytes, GRADED_SUFFIXES)
    stamp = handin / SUBMITTED_AT_FILE
    for path in sources + ([stamp] if stamp.is_file() and not stamp.is_symlink() else []):
        data = read_source(path, max_file_bytes)
        total += len(data)
        if total > max_bytes:
            raise HandinTooLarge(tr("its graded files exceed {limit:g} MB, the most a hand-in may send to a Dask "
                                    "worker; grade it with a local batch", limit=max_bytes / 2**20))
        files[path.relative_to(handin).as_posix()] = (data, os.stat(path).st_mtime)
    return files


def unpack(files: dict[str, tuple[bytes, float]], folder: Path) -> None:
    """Write packed files under `folder`, refusing any path that would leave it."""
    for name, (data, mtime) in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(tr("refusing to unpack {name!r}: it leaves the hand-in folder", name=name))
        target = folder.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.utime(target, (mtime, mtime))


class GraderPlugin(WorkerPlugin):
    """A Dask worker plugin: one warm zygote per worker, graders built on it per settings, with
    as many grading slots as the worker has threads."""

    name = PLUGIN_NAME

    def setup(self, worker=None) -> None:
        from grader.sandbox.zygote import Zygote

        self.zygote = Zygote()
        self.slots = max(1, worker.state.nthreads if worker is not None else 1)
        self.graders: dict[str, object] = {}
        self.lock = threading.Lock()

    def grader(self, settings: BatchSettings):
        """The warm Grader for these settings (built once per worker and settings)."""
        from grader.pipeline import Grader

        key = settings.key()
        with self.lock:
            if key not in self.graders:
                grader = Grader(workers=self.slots, limits=settings.limits, seed=settings.seed, zygote=self.zygote,
                                config=settings.config)
                grader.warm_up(settings.targets)
                self.graders[key] = grader
            return self.graders[key]

    def teardown(self, worker=None) -> None:
        for grader in self.graders.values():
            grader.pool.shutdown()
        self.zygote.close()


def _plugin() -> GraderPlugin:
    from distributed import get_worker

    return get_worker().plugins[PLUGIN_NAME]


def worker_key(settings: BatchSettings) -> str:
    """This worker's grader key for `settings` (run on every worker before any hand-in)."""
    return settings.key()


def grade_packed(name: str, files: dict[str, tuple[bytes, float]], settings: BatchSettings, key: str) -> dict:
    """A worker's task: unpack one hand-in into a private folder, grade it, return the results contract."""
    if settings.key() != key:
        raise RuntimeError(tr("this worker's grader key {key} differs from the coordinator's {theirs}: install the "
                              "same dlgrade version and configuration on every worker", key=settings.key(), theirs=key))
    folder = Path(tempfile.mkdtemp(prefix="dlgrade-handin-"))
    try:
        handin = folder / name
        handin.mkdir()
        unpack(files, handin)
        return grade_one(_plugin().grader(settings), handin, settings)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _failed(name: str, why: str) -> dict:
    return SubmissionResult(submission=name, checks=[], internal_errors=[why]).to_dict()


class DaskWorkers:
    """The batch's executor on a Dask cluster: `submit(handin)` gives a future of the results contract."""

    def __init__(self, settings: BatchSettings, scheduler: str):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise SystemExit(_(INSTALL_HINT)) from None
        self.settings = settings
        self.key = settings.key()
        self.cluster = None
        if scheduler.startswith("local:"):
            self.cluster = LocalCluster(n_workers=int(scheduler.split(":", 1)[1]), threads_per_worker=1,
                                        processes=True, host="127.0.0.1", dashboard_address=None)
            scheduler = self.cluster.scheduler_address
        self.client = Client(scheduler)
        self.client.run_on_scheduler(_limit_failures)
        self.client.register_plugin(GraderPlugin(), name=PLUGIN_NAME)
        keys = self.client.run(worker_key, settings)
        self.workers = sorted(address for address, key in keys.items() if key == self.key)
        self.refused = {address: key for address, key in keys.items() if key != self.key}
        for address, key in sorted(self.refused.items()):
            print(tr("dlgrade: refused Dask worker {address}: its grader key {key} differs from this coordinator's "
                     "{ours} (another dlgrade version, grading code or configuration)", address=address, key=key,
                     ours=self.key), file=sys.stderr)
        if not self.workers:
            self.close()
            raise SystemExit(tr("no Dask worker runs this grader (key {key}); refused: {refused}", key=self.key,
                                refused=self.refused))

    def submit(self, handin: Path) -> Future:
        future: Future = Future()
        try:
            files = pack(handin, max_file_bytes=self.settings.config.max_file_bytes)
        except (HandinTooLarge, OSError) as error:
            future.set_result(_failed(handin.name, tr("not sent to a Dask worker: {error}", error=error)))
            return future
        task = self.client.submit(grade_packed, handin.name, files, self.settings, self.key, pure=False,
                                  workers=self.workers, key=f"dlgrade-{handin.name}-{os.urandom(4).hex()}")

        def settle(done) -> None:
            from distributed import KilledWorker

            try:
                future.set_result(done.result())
            except KilledWorker:
                future.set_result(_failed(handin.name, tr("the Dask workers grading it died {times} times (killed or "
                                                          "out of memory); not retried in this run",
                                                          times=ALLOWED_FAILURES + 1)))
            except Exception as error:
                if self.client.status != "running" or done.cancelled():  # the scheduler went away
                    future.set_exception(WorkersLost(tr("lost the Dask scheduler ({kind})", kind=type(error).__name__)))
                else:
                    future.set_result(_failed(handin.name, tr("grading on Dask failed: {kind}: {error}",
                                                              kind=type(error).__name__, error=error)))

        task.add_done_callback(settle)
        return future

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _limit_failures(dask_scheduler=None) -> None:
    """A task whose worker died is retried once elsewhere, then fails (not three times)."""
    dask_scheduler.allowed_failures = ALLOWED_FAILURES
