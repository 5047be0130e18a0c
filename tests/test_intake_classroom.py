"""GitHub Classroom clones: each exported at its latest commit (or the last at or before the deadline) into
--out, the input untouched, the commit and its student-set time kept; a whole-course fork's homework found."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from grader.intake import IntakeOptions
from grader.intake.stage import take_in
from grader.roster import Roster
from tests.helpers import part1_cells, write_notebook

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
UTC = timezone.utc


def git(repo: Path, *args: str, when: str = "2026-12-01T10:00:00+00:00") -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(repo), "GIT_AUTHOR_NAME": "S", "GIT_AUTHOR_EMAIL": "s@x",
           "GIT_COMMITTER_NAME": "S", "GIT_COMMITTER_EMAIL": "s@x", "GIT_AUTHOR_DATE": when,
           "GIT_COMMITTER_DATE": when, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def clone(root: Path, name: str, commits: list[tuple[str, dict[str, list[str] | str]]]) -> Path:
    """A repository with one commit per (time, files): a list of cells is a notebook, a string a text file."""
    repo = root / name
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for when, files in commits:
        for path, content in files.items():
            if isinstance(content, list):
                write_notebook(repo / path, content)
            else:
                (repo / path).parent.mkdir(parents=True, exist_ok=True)
                (repo / path).write_text(content)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"work of {when}", when=when)
    return repo


WRONG = part1_cells(sigmoid="def sigmoid(x):\n    return 1 / (1 + tf.exp(x))")


@pytest.fixture
def submissions(tmp_path) -> Path:
    root = tmp_path / "hw1-submissions"
    clone(root, "hw1-ana", [("2026-11-30T10:00:00+01:00", {"README.md": "course", "ch1/notes.md": "chapter 1"}),
                            ("2026-12-01T22:00:00+01:00", {"ch3/hw/tf2.0-exercise.ipynb": part1_cells()})])
    clone(root, "hw1-bob", [("2026-12-01T12:00:00+00:00", {"hw.ipynb": WRONG}),
                            ("2026-12-03T09:00:00+00:00", {"hw.ipynb": part1_cells()})])
    (root / "stray").mkdir()
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_clones_are_exported_at_their_latest_commit_into_out(tmp_path, submissions):
    before = snapshot(submissions)
    intake = take_in(tmp_path, tmp_path / "out", IntakeOptions())  # the folder holding hw1-submissions/
    assert intake.system == "git" and snapshot(submissions) == before
    handins = {h.key: h for h in intake.handins}
    assert set(handins) == {"ana", "bob"}
    ana, bob = handins["ana"], handins["bob"]
    assert ana.student.login == "ana" and ana.student.id is None
    assert ana.submitted_at == datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    assert "ch3/hw/tf2.0-exercise.ipynb" in ana.files and not (ana.folder / ".git").exists()
    assert (tmp_path / "out" / "intake") in ana.folder.parents
    record = bob.record()["commit"]
    assert record["sha"] == git(submissions / "hw1-bob", "rev-parse", "HEAD").strip() and record["all_commits"] == 2
    assert "set by the student" in record["note"]
    assert any("stray" in note for note in intake.notes)


def test_at_the_deadline_the_last_commit_before_it_is_graded(tmp_path, submissions):
    deadline = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
    handins = {h.key: h for h in take_in(submissions, tmp_path / "out", IntakeOptions(deadline=deadline)).handins}
    bob = handins["bob"]
    assert bob.submitted_at == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert bob.attempts[0]["commits"] == 1
    first = git(submissions / "hw1-bob", "rev-list", "--reverse", "HEAD").split()[0]
    assert bob.commit.sha == first
    assert (bob.folder / "hw.ipynb").read_text() == git(submissions / "hw1-bob", "show", f"{first}:hw.ipynb")


def test_the_homework_inside_a_whole_course_fork_is_found_and_graded(tmp_path, submissions, grader):
    ana = {h.key: h for h in take_in(submissions, tmp_path / "out", IntakeOptions()).handins}["ana"]
    result = grader.grade(ana.folder, {"sigmoid"})
    assert result.per_target()["sigmoid"] == (10.0, 10.0)
    assert result.files == ["ch3/hw/tf2.0-exercise.ipynb"]


def test_a_classroom_roster_joins_on_github_username(tmp_path):
    (tmp_path / "roster.csv").write_text("identifier,github_username\nana@x.edu,Ana\n")
    roster = Roster.read(tmp_path / "roster.csv", None, system="git")
    joined = roster.join(["ana"], {"ana": [{"id": None, "name": None, "email": None, "login": "ana"}]})
    assert joined.matched["ana"]["identifier"] == "ana@x.edu"
