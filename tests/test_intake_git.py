"""git clones: the graded commit is exported with plumbing; nothing of the student's runs, nothing is written."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.intake.archives import ArchiveLimits
from grader.intake.git import GitIntakeError, export_commit, is_git_clone
from grader.pipeline import load_sources
from grader.targets import TARGETS, locate
from tests.helpers import part1_cells, write_notebook

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
CST = timezone(timedelta(hours=8))
DUE = datetime(2026, 12, 1, 0, 0, tzinfo=CST)
TIMES = [datetime(2026, 11, 20, 10, 0, tzinfo=CST), datetime(2026, 11, 30, 23, 0, tzinfo=CST),
         datetime(2026, 12, 2, 9, 0, tzinfo=CST)]


def git(repo: Path, *args: str, when: datetime | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """git as a test author runs it: no machine configuration, fixed identities and dates."""
    env = {"PATH": os.environ["PATH"], "HOME": str(repo.parent), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "Student", "GIT_AUTHOR_EMAIL": "s@example.edu",
           "GIT_COMMITTER_NAME": "Student", "GIT_COMMITTER_EMAIL": "s@example.edu"}
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=check)


def commit(repo: Path, files: dict[str, str], message: str, when: datetime) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, when=when)
    return git(repo, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def clone(tmp_path) -> tuple[Path, list[str]]:
    """A student's clone with three commits: two before the deadline, one after."""
    repo = tmp_path / "hw1-student"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shas = [commit(repo, {"hw/answer.py": f"VERSION = {i}\n", "README.md": "# hw1\n"}, f"version {i}", when)
            for i, when in enumerate(TIMES, 1)]
    return repo, shas


def fingerprint(root: Path) -> str:
    """Every path under `root` (.git included), with its type, mode, size, time and bytes."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(folder) / name
            info = os.lstat(path)
            digest.update(f"{path.relative_to(root)}|{info.st_mode}|{info.st_size}|{info.st_mtime_ns}".encode())
            if stat.S_ISREG(info.st_mode):
                digest.update(path.read_bytes())
            elif stat.S_ISLNK(info.st_mode):
                digest.update(os.readlink(path).encode())
    return digest.hexdigest()


def test_the_latest_commit_is_exported_with_its_committer_time(clone, tmp_path):
    repo, shas = clone
    assert is_git_clone(repo)
    graded = export_commit(repo, tmp_path / "out")
    assert graded.sha == shas[2] and graded.subject == "version 3" and graded.all_commits == 3
    assert graded.committed_at == TIMES[2] and graded.committed_at.utcoffset() == timedelta(hours=8)
    assert (tmp_path / "out" / "hw" / "answer.py").read_text() == "VERSION = 3\n"
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")
                  if p.is_file()) == ["README.md", "hw/answer.py"] == list(graded.files)


@pytest.mark.parametrize("deadline, version", [(DUE, 2), (TIMES[1], 2), (TIMES[1] - timedelta(seconds=1), 1),
                                               (TIMES[2] + timedelta(days=1), 3)])
def test_at_the_deadline_the_last_commit_at_or_before_it_is_graded(clone, tmp_path, deadline, version):
    repo, shas = clone
    graded = export_commit(repo, tmp_path / "out", at_or_before=deadline)
    assert graded.sha == shas[version - 1] and graded.later_commits == 3 - version
    assert (tmp_path / "out" / "hw" / "answer.py").read_text() == f"VERSION = {version}\n"


def test_a_deadline_in_another_zone_compares_instants(clone, tmp_path):
    repo, shas = clone
    utc_due = DUE.astimezone(timezone.utc).replace(tzinfo=None)  # naive: read as UTC
    assert export_commit(repo, tmp_path / "out", at_or_before=utc_due).sha == shas[1]


def test_no_commit_before_the_deadline_is_an_error_naming_the_repo(clone, tmp_path):
    repo, _ = clone
    with pytest.raises(GitIntakeError, match="hw1-student.*no commit at or before"):
        export_commit(repo, tmp_path / "out", at_or_before=TIMES[0] - timedelta(days=1))
    assert not (tmp_path / "out").exists()


def test_not_a_clone_an_empty_clone_and_no_git(tmp_path, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert not is_git_clone(plain)
    with pytest.raises(GitIntakeError, match="plain: not a git clone"):
        export_commit(plain, tmp_path / "out")
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    with pytest.raises(GitIntakeError, match="empty: HEAD has no commit"):
        export_commit(empty, tmp_path / "out")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(GitIntakeError, match="git is not installed"):
        export_commit(empty, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_symlinked_dot_git_is_not_a_clone(clone, tmp_path):
    repo, _ = clone
    other = tmp_path / "other"
    other.mkdir()
    os.symlink(repo / ".git", other / ".git")
    assert not is_git_clone(other)


def test_nothing_is_written_into_the_clone(clone, tmp_path):
    repo, _ = clone
    (repo / "hw" / "answer.py").write_text("uncommitted work\n")  # a dirty work tree stays as it is
    before = fingerprint(repo)
    export_commit(repo, tmp_path / "a")
    export_commit(repo, tmp_path / "b", at_or_before=DUE)
    assert fingerprint(repo) == before


def plant_traps(repo: Path, marker: Path) -> None:
    """Everything a clone's own configuration can make git run, each writing `marker` when it runs."""
    script = repo.parent / "trap.sh"
    script.write_text(f"#!/bin/sh\necho \"$0 $*\" >> {marker}\ncat\n")
    script.chmod(0o755)
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\necho hook >> {marker}\n")
    hook.chmod(0o755)
    commit(repo, {".gitattributes": "* filter=evil diff=evil\n"}, "attributes", TIMES[2] + timedelta(hours=1))
    with open(repo / ".git" / "config", "a", encoding="utf-8") as config:
        config.write(f"[filter \"evil\"]\n\tsmudge = {script}\n\tclean = {script}\n\trequired = true\n"
                     f"[diff \"evil\"]\n\ttextconv = {script}\n[core]\n\tfsmonitor = {script}\n\tpager = {script}\n"
                     f"[log]\n\tshowSignature = true\n[gpg]\n\tprogram = {script}\n")


def test_the_clones_hooks_filters_and_commands_never_run(clone, tmp_path):
    repo, _ = clone
    marker = tmp_path / "ran"
    plant_traps(repo, marker)
    graded = export_commit(repo, tmp_path / "out")
    export_commit(repo, tmp_path / "out2", at_or_before=DUE + timedelta(days=30))
    assert not marker.exists(), marker.read_text()
    assert graded.subject == "attributes"
    assert (tmp_path / "out" / "hw" / "answer.py").read_text() == "VERSION = 3\n"  # raw blob, no filter
    # the traps are real: the porcelain an instructor might reach for runs them
    git(repo, "archive", "-o", str(tmp_path / "x.tar"), "HEAD", check=False)
    assert marker.exists() and "trap.sh" in marker.read_text()
    marker.unlink()
    git(repo, "checkout", "-q", "HEAD~1", check=False)
    assert "hook" in marker.read_text()


def test_a_clone_owned_by_someone_else_is_read(clone, tmp_path):
    """Root grading students' clones: git's ownership check would refuse them without safe.directory."""
    if os.geteuid() != 0:
        pytest.skip("changing a clone's owner needs root")
    repo, shas = clone
    for folder, dirs, files in os.walk(repo):
        for name in dirs + files + ["."]:
            os.lchown(os.path.join(folder, name), 12345, 12345)
    plain = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                           env={"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1",
                                "GIT_CONFIG_GLOBAL": os.devnull})
    assert plain.returncode != 0 and "dubious ownership" in plain.stderr  # the guard is needed
    assert export_commit(repo, tmp_path / "out").sha == shas[2]


def test_links_submodules_and_oversize_files_are_skipped_and_listed(clone, tmp_path):
    repo, shas = clone
    os.symlink("/etc/passwd", repo / "passwd.py")
    (repo / "data.bin").write_bytes(os.urandom(300_000))
    git(repo, "add", "-A")
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{shas[0]},vendor/lib")
    git(repo, "commit", "-q", "-m", "extras", when=TIMES[2] + timedelta(hours=1))
    graded = export_commit(repo, tmp_path / "out", limits=ArchiveLimits(2**30, 100, 100_000, 200))
    assert list(graded.files) == ["README.md", "hw/answer.py"]
    assert [s.split(":")[0] for s in graded.skipped] == ["data.bin", "passwd.py", "vendor/lib"]
    assert not os.path.lexists(tmp_path / "out" / "passwd.py")


def test_a_crafted_tree_that_climbs_out_is_refused(clone, tmp_path):
    repo, _ = clone
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input="pwned\n", capture_output=True,
                       text=True, check=True).stdout.strip()
    inner = subprocess.run(["git", "mktree"], cwd=repo, input=f"100644 blob {blob}\tpwned\n", capture_output=True,
                           text=True, check=True).stdout.strip()
    made = subprocess.run(["git", "mktree"], cwd=repo, input=f"040000 tree {inner}\t..\n", capture_output=True,
                          text=True)
    if made.returncode != 0:
        pytest.skip("this git refuses to write a '..' tree entry")
    outer = made.stdout.strip()
    parent = git(repo, "rev-parse", "HEAD").stdout.strip()
    evil = git(repo, "commit-tree", outer, "-p", parent, "-m", "evil", when=TIMES[2] + timedelta(hours=2)) \
        .stdout.strip()
    git(repo, "update-ref", "HEAD", evil)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(GitIntakeError, match="traversal"):
        export_commit(repo, work / "out")
    assert "../pwned" in git(repo, "ls-tree", "-r", "--name-only", "HEAD").stdout  # the attack is real
    assert not (work / "pwned").exists() and not (work / "out").exists()


def test_the_homework_folder_of_a_whole_course_fork_is_found(tmp_path):
    """GitHub Classroom forks often hold the whole course: the lecture's own softmax sits in another
    chapter; discovery through the export still grades the homework notebook's."""
    repo = tmp_path / "course-fork"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write_notebook(repo / "chapter1" / "intro.ipynb", ["md:# 第一章 导论", "import numpy as np\nx = np.arange(3)"])
    write_notebook(repo / "chapter3" / "lecture-softmax.ipynb",
                   ["md:Softmax in the lecture",
                    "import numpy as np\ndef softmax(x):\n    return np.exp(x) / np.exp(x).sum()"])
    homework = "chapter4/homework/tf2.0-exercise.ipynb"
    write_notebook(repo / homework, ["md:# 作业：实现 softmax 等函数"] + part1_cells())
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "作业完成", when=TIMES[1])
    graded = export_commit(repo, tmp_path / "out", at_or_before=DUE)
    assert graded.subject == "作业完成" and homework in graded.files
    files = load_sources(tmp_path / "out")
    for name in ("softmax", "sigmoid", "softmax_ce", "sigmoid_ce"):
        assert locate(TARGETS[name], files).file.display == homework, name
