"""`dlgrade batch`: the gradebook, re-grading only what changed, time caps, and crash safety."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import Future
from pathlib import Path

import pytest
from rich.console import Console

from grader.batch import ERROR_KEY, BatchSettings, content_hash, find_handins, grade_one, run_batch
from grader.gradebook import Gradebook
from grader.report.terminal import BatchProgress
from grader.sandbox.jobs import OUT_OF_TIME, Limits
from tests.conftest import REPO
from tests.helpers import write_handin, write_notebook, part1_cells

PART1 = ("softmax", "sigmoid", "softmax_ce", "sigmoid_ce")
SETTINGS = BatchSettings(targets=PART1, limits=Limits(call_timeout=3.0, load_timeout=6.0))


class SessionWorkers:
    """The batch's executor interface over the test session's warm grader (one zygote for all tests)."""

    def __init__(self, grader, settings: BatchSettings = SETTINGS):
        self.grader, self.settings, self.graded = grader, settings, []

    def submit(self, handin: Path) -> Future:
        future: Future = Future()
        self.graded.append(handin.name)
        future.set_result(grade_one(self.grader, handin, self.settings))
        return future

    def close(self) -> None:
        pass


def make_class(root: Path) -> Path:
    write_notebook(root / "ana" / "hw.ipynb", part1_cells())
    write_notebook(root / "ben" / "hw.ipynb", part1_cells(sigmoid="def sigmoid(x):\n    return 1 / (1 + tf.exp(x))"))
    (root / "cleo").mkdir(parents=True)
    (root / "cleo" / "notes.txt").write_text("forgot to upload")
    (root / ".ipynb_checkpoints").mkdir()
    return root


def batch(grader, root: Path, out: Path, settings: BatchSettings = SETTINGS, **options):
    """Run a batch; returns (summary, hand-ins graded, latest entries, the gradebook reopened)."""
    workers = SessionWorkers(grader, settings)
    with Gradebook(out / "gradebook.sqlite") as gradebook:
        summary = run_batch(root, out, settings, lambda: workers, gradebook, **options)
    reopened = Gradebook(out / "gradebook.sqlite")
    return summary, workers.graded, {e.name: e for e in reopened.entries()}, reopened


def test_batch_grades_every_folder_and_writes_reports(grader, tmp_path):
    summary, graded, entries, _ = batch(grader, make_class(tmp_path / "class"), tmp_path / "out")
    assert sorted(graded) == ["ana", "ben", "cleo"]
    assert (summary.graded, summary.unchanged, summary.failed_to_load) == (3, 0, 1)
    assert entries["ana"].score == entries["ana"].max_score == 40
    assert entries["ben"].score < 40 and entries["cleo"].score == 0
    for name in ("ana", "ben", "cleo"):
        assert (tmp_path / "out" / name / "report.html").is_file()
    rows = (tmp_path / "out" / "grades.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[1].startswith("ana,10,10,10,10,40")


def test_second_run_regrades_only_what_changed(grader, tmp_path):
    root, out = make_class(tmp_path / "class"), tmp_path / "out"
    batch(grader, root, out)
    summary, graded, _, _ = batch(grader, root, out)
    assert graded == [] and summary.unchanged == 3
    (root / "ana" / "photo.png").write_bytes(b"not graded: changes nothing")
    write_notebook(root / "ben" / "hw.ipynb", part1_cells())  # ben fixed his sigmoid
    summary, graded, entries, gradebook = batch(grader, root, out)
    assert graded == ["ben"] and summary.unchanged == 2
    assert entries["ben"].score == 40
    assert [e.score for e in gradebook.history("ben")] == [30] and gradebook.history("ana") == []


def test_force_only_and_a_changed_grader_key(grader, tmp_path):
    root, out = make_class(tmp_path / "class"), tmp_path / "out"
    batch(grader, root, out)
    assert batch(grader, root, out, only=["cleo"])[1] == []
    assert batch(grader, root, out, force=True, only=["cleo"])[1] == ["cleo"]
    assert sorted(batch(grader, root, out, force=True)[1]) == ["ana", "ben", "cleo"]
    stricter = BatchSettings(targets=PART1, limits=Limits(call_timeout=2.0, load_timeout=6.0))
    assert stricter.key() != SETTINGS.key()
    assert sorted(batch(grader, root, out, settings=stricter)[1]) == ["ana", "ben", "cleo"]
    index = (out / "index.html").read_text()
    assert all(f'href="{name}/report.html"' in index for name in ("ana", "ben", "cleo"))


def test_a_grader_error_is_stored_and_retried(grader, tmp_path, monkeypatch):
    root, out = make_class(tmp_path / "class"), tmp_path / "out"

    def broken_grade(*args, **kwargs):
        raise RuntimeError("simulated grader bug")

    monkeypatch.setattr(grader, "grade", broken_grade)
    summary, _, entries, _ = batch(grader, root, out, only=["ana"])
    assert summary.grader_errors == 1 and entries["ana"].grader_key == ERROR_KEY
    assert "simulated grader bug" in entries["ana"].result["internal_errors"][0]
    monkeypatch.undo()
    summary, graded, entries, _ = batch(grader, root, out, only=["ana"])
    assert graded == ["ana"] and entries["ana"].score == 40


def test_content_hash_follows_graded_files_only(tmp_path):
    folder = make_class(tmp_path)
    before = content_hash(folder / "ana")
    (folder / "ana" / "photo.jpg").write_text("1,2")
    assert content_hash(folder / "ana") == before
    for graded in ("extra.py", "report.md", "data.csv"):  # code, Part 4's report, data its code reads
        (folder / "ana" / graded).write_text("x = 1")
        assert content_hash(folder / "ana") != before
        before = content_hash(folder / "ana")
    assert [h.name for h in find_handins(folder, exclude=[folder / "cleo"])] == ["ana", "ben"]


def test_gradebook_keeps_history_and_rolls_back_a_failed_write(tmp_path):
    with Gradebook(tmp_path / "g.sqlite") as book:
        book.record("ana", "h1", "k", {"score": 1, "max_score": 2})
        book.record("ana", "h2", "k", {"score": 2, "max_score": 2})
        with pytest.raises(TypeError):
            book.record("ana", "h3", "k", {"score": 2, "max_score": 2, "bad": object()})
        assert [e.content_hash for e in book.entries()] == ["h2"]
        assert [e.content_hash for e in book.history("ana")] == ["h1"]
        assert book.is_current("ana", "h2", "k") and not book.is_current("ana", "h2", "other")
    mode = sqlite3.connect(tmp_path / "g.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_handin_time_limit_fails_what_is_left_and_keeps_what_finished(grader, tmp_path):
    # the functions of one file run in order in one child: softmax finishes, sigmoid hangs past the
    # hand-in's limit (shorter here than a call's timeout), and what is left fails saying why
    hang = "def sigmoid(x):\n    while True:\n        pass"
    folder = write_notebook(tmp_path / "slow" / "hw.ipynb", part1_cells(sigmoid=hang)).parent
    started = time.monotonic()
    result = grader.grade(folder, {"softmax", "sigmoid", "softmax_ce"}, time_limit=2.0)
    assert time.monotonic() - started < 6
    checks = {c.id: c for c in result.checks}
    assert checks["softmax.matches_tf"].passed
    assert not checks["sigmoid.matches_tf"].passed and OUT_OF_TIME in checks["sigmoid.matches_tf"].message
    assert OUT_OF_TIME in checks["softmax_ce.matches_tf"].message


def test_progress_prints_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    with BatchProgress(Console(file=stream, force_terminal=False, width=200)) as progress:
        progress("ana", {"score": 40, "max_score": 68}, 1, 2)
        progress("ben", None, 2, 2)
    assert stream.getvalue().splitlines() == ["[1/2] ana: 40/68", "[2/2] ben: unchanged"]


def _dlgrade_batch(root: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "grader", "batch", str(root), "--out", str(out), "--fast",
                             "--workers", "2"], cwd=REPO, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)


def _graded(out: Path) -> int:
    try:
        with sqlite3.connect(out / "gradebook.sqlite") as db:
            return db.execute("SELECT count(*) FROM grades").fetchone()[0]
    except sqlite3.Error:
        return 0


def _stable(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "duration_s"}


@pytest.mark.slow
def test_batch_killed_with_sigkill_resumes_and_matches_an_uninterrupted_run(tmp_path):
    root = tmp_path / "class"
    for i in range(8):
        write_handin(root / f"s{i}", **({"softmax": "def softmax(x):\n    return tf.exp(x)"} if i % 3 == 0 else {}))
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    run = _dlgrade_batch(root, killed)
    deadline = time.monotonic() + 240
    while _graded(killed) < 3 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)  # the whole batch: coordinator, zygote and children
    run.wait()
    assert 3 <= _graded(killed) < 8, "the kill came too late to test a resume"
    resumed = _dlgrade_batch(root, killed)
    assert resumed.wait(timeout=300) == 0
    assert "unchanged" in resumed.stdout.read()
    reference = _dlgrade_batch(root, clean)
    assert reference.wait(timeout=300) == 0
    with Gradebook(killed / "gradebook.sqlite") as book, Gradebook(clean / "gradebook.sqlite") as other:
        assert [e.name for e in book.entries()] == [f"s{i}" for i in range(8)]
        assert all(book.history(f"s{i}") == [] for i in range(8)), "a hand-in was graded twice"
        assert [_stable(e.result) for e in book.entries()] == [_stable(e.result) for e in other.entries()]
    stored = json.loads((killed / "results.json").read_text())
    assert len(stored) == 8 and len((killed / "grades.csv").read_text().splitlines()) == 9
