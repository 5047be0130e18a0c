"""Batch grading on Dask: real scheduler and worker processes on 127.0.0.1 give the local batch's
results, survive a worker killed mid-batch, and refuse a worker with another grader key."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.distributed import pack, unpack
from grader.gradebook import Gradebook
from tests.conftest import REPO

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _class(root: Path, copies: int = 2) -> Path:
    """The example hand-ins, plus renamed copies so that the batch has work to share out."""
    for example in sorted((REPO / "submissions").iterdir()):
        if example.is_dir():
            for i in range(copies):
                shutil.copytree(example, root / f"{example.name}-{i}")
    return root


def _batch(root: Path, out: Path, *extra: str, wait: bool = True, **popen) -> subprocess.CompletedProcess | subprocess.Popen:
    command = [sys.executable, "-m", "grader", "batch", str(root), "--out", str(out), "--fast", "--no-similarity", *extra]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if wait:
        return subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=REPO)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO, **popen)


def _results(out: Path) -> list[dict]:
    documents = json.loads((out / "results.json").read_text())
    for document in documents:
        document.pop("duration_s")
    return sorted(documents, key=lambda d: d["submission"])


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """A class and its local-batch results, the reference every Dask run must equal."""
    root = _class(tmp_path_factory.mktemp("class"))
    out = tmp_path_factory.mktemp("local")
    run = _batch(root, out, "--workers", "2")
    assert run.returncode == 0, run.stderr
    return root, _results(out)


class Cluster:
    """A `dask scheduler` and `dask worker` processes on 127.0.0.1, started as an instructor would."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder  # their working folder: not the repository, whose grader/ would shadow an install
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.processes: list[subprocess.Popen] = []
        self._start([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", self.address.rsplit(":", 1)[1],
                     "--no-dashboard"])
        self.workers: list[subprocess.Popen] = []

    def _start(self, command: list[str], env: dict | None = None) -> subprocess.Popen:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                   cwd=self.folder, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {})))
        self.processes.append(process)
        return process

    def add_worker(self, env: dict | None = None) -> subprocess.Popen:
        worker = self._start([sys.executable, "-m", "dask", "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                              "--host", "127.0.0.1"], env)
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(count, timeout=120)

    def close(self) -> None:
        for process in reversed(self.processes):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


@pytest.fixture
def cluster(tmp_path_factory):
    started = Cluster(tmp_path_factory.mktemp("cluster"))
    yield started
    started.close()


def test_pack_and_unpack_keep_bytes_and_times_and_refuse_escapes(tmp_path):
    handin = tmp_path / "ana"
    (handin / "sub").mkdir(parents=True)
    (handin / "sub" / "hw.py").write_text("x = 1\n")
    (handin / ".submitted_at").write_text("2026-12-01T10:00:00+00:00")
    (handin / "photo.jpg").write_text("not graded")
    (handin / "report.md").write_text("Part 4's report: graded, so a worker needs it")
    (handin / "sub" / "data.csv").write_text("1,2")  # read by Part 4's code
    os.utime(handin / "sub" / "hw.py", (1_700_000_000, 1_700_000_000))
    files = pack(handin)
    assert set(files) == {"sub/hw.py", ".submitted_at", "report.md", "sub/data.csv"}
    unpack(files, tmp_path / "copy")
    assert (tmp_path / "copy" / "sub" / "hw.py").read_text() == "x = 1\n"
    assert os.stat(tmp_path / "copy" / "sub" / "hw.py").st_mtime == 1_700_000_000
    (handin / "big.py").write_text("#" * 2000)
    assert "big.py" in pack(handin) and "big.py" not in pack(handin, max_file_bytes=1000)  # the course's limit
    for evil in ("../escape.py", "/etc/cron.d/x.py"):
        with pytest.raises(ValueError):
            unpack({evil: (b"", 0.0)}, tmp_path / "copy")


def test_local_cluster_gives_the_local_batch_results(classroom, tmp_path):
    root, expected = classroom
    run = _batch(root, tmp_path / "out", "--scheduler", "local:2")
    assert run.returncode == 0, run.stderr
    assert _results(tmp_path / "out") == expected


def test_scheduler_and_two_workers_survive_a_worker_killed_mid_batch(classroom, cluster, tmp_path):
    root, expected = classroom
    doomed = cluster.add_worker()
    cluster.add_worker()
    cluster.wait_for_workers(2)
    out = tmp_path / "out"
    batch = _batch(root, out, "--scheduler", cluster.address, wait=False)
    deadline = time.monotonic() + 300
    while not list(out.glob("*/report.html")) and time.monotonic() < deadline and batch.poll() is None:
        time.sleep(0.05)
    assert batch.poll() is None, "the batch ended before a worker could be killed"
    os.killpg(doomed.pid, signal.SIGKILL)  # the worker, its zygote and children
    stdout, stderr = batch.communicate(timeout=600)
    errors = [e for r in json.loads((out / "results.json").read_text()) for e in r["internal_errors"]]
    assert batch.returncode == 0, (stderr, errors[:2])
    assert _results(out) == expected
    with Gradebook(out / "gradebook.sqlite") as book:
        assert len(book.entries()) == len(expected)
        assert all(book.history(entry.name) == [] for entry in book.entries())  # each graded exactly once


def test_worker_with_another_grader_key_is_refused(classroom, cluster, tmp_path):
    root, expected = classroom
    other = tmp_path / "other-install"
    shutil.copytree(REPO / "grader", other / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    init = other / "grader" / "__init__.py"
    init.write_text(init.read_text().replace("__version__ = ", "__version__ = '0.0.0-other' or "))
    cluster.add_worker()
    cluster.add_worker({"PYTHONPATH": str(other)})
    cluster.wait_for_workers(2)
    run = _batch(root, tmp_path / "out", "--scheduler", cluster.address)
    assert run.returncode == 0, run.stderr
    assert "refused Dask worker" in run.stderr and "another dlgrade version" in run.stderr
    results = _results(tmp_path / "out")
    assert results == expected  # every hand-in graded by the worker with the coordinator's key
    assert {r["environment"]["dlgrade"] for r in results} == {expected[0]["environment"]["dlgrade"]}


def test_without_dask_the_option_fails_at_once_saying_how_to_install(tmp_path):
    (tmp_path / "class" / "ana").mkdir(parents=True)
    script = ("import sys\nsys.modules['distributed'] = None\nfrom grader.cli import main\n"
              f"sys.exit(main(['batch', {str(tmp_path / 'class')!r}, '--out', {str(tmp_path / 'out')!r}, "
              "'--scheduler', 'local:2']))")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert run.returncode == 2
    assert "pip install 'dlgrade[dask]'" in run.stderr


def test_losing_the_scheduler_ends_the_batch_keeping_what_was_graded(classroom, cluster, tmp_path):
    root, expected = classroom
    cluster.add_worker()
    cluster.wait_for_workers(1)
    out = tmp_path / "out"
    batch = _batch(root, out, "--scheduler", cluster.address, wait=False)
    while not list(out.glob("*/report.html")) and batch.poll() is None:
        time.sleep(0.05)
    os.killpg(cluster.processes[0].pid, signal.SIGKILL)  # the scheduler
    stdout, _ = batch.communicate(timeout=300)
    assert batch.returncode == 2
    assert "stopped early: lost the Dask scheduler" in stdout
    with Gradebook(out / "gradebook.sqlite") as book:
        kept = {e.name: e.result for e in book.entries()}
    assert 1 <= len(kept) < len(expected)
    assert all(not r["internal_errors"] for r in kept.values())  # nothing recorded for what was lost
    again = _batch(root, out, "--workers", "2")  # the next run grades the rest
    assert again.returncode == 0 and f"unchanged {len(kept)}" in again.stdout
    assert _results(out) == expected
