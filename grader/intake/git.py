"""git clones: export the graded commit's files with git plumbing, running nothing of the student's.

A clone is as hostile as an archive, and more: its `.git/config` can name commands that git runs
(filter drivers in `git archive` and checkouts, `core.fsmonitor`, `gpg.program` behind
`log.showSignature`, pagers), and its hooks run on checkout. So the clone is only read: commits
and trees are listed (`rev-list`, `ls-tree`) and raw objects read (`cat-file --batch`, which
applies no filter or textconv), with the system and global configuration off and the dangerous
keys overridden on the command line; blobs are written by the archive writer (new files only,
safe modes, the same caps). Nothing is checked out, no lock or index is written into the input.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from grader.i18n import tr
from grader.intake.archives import (DEFAULT_LIMITS, ArchiveError, ArchiveLimits, _Budget, _Level, _Member,
                                    _safe_name, _size_text)

_OVERRIDES = (  # command-line configuration wins over the clone's own .git/config
    "core.fsmonitor=false", "core.hooksPath=/dev/null", "core.pager=cat", "core.sshCommand=false",
    "core.askPass=false", "credential.helper=", "protocol.allow=never", "log.showSignature=false",
    "gpg.program=false", "diff.external=", "filter.lfs.smudge=", "filter.lfs.process=", "filter.lfs.required=false",
    "gc.auto=0", "maintenance.auto=false", "core.untrackedCache=false", "core.splitIndex=false",
)
_BLOB_MODES = {"100644", "100755", "100664"}


@dataclass(frozen=True)
class GradedCommit:
    """The commit whose files were exported, and what the clone's history says about it."""

    sha: str
    committed_at: datetime  # the committer time, with the committer's offset (set by the student)
    subject: str
    all_commits: int  # commits reachable from HEAD
    later_commits: int = 0  # of those, committed after `at_or_before` (not graded)
    files: tuple[str, ...] = ()  # relative posix paths written under dest
    skipped: tuple[str, ...] = ()  # "path: why" for symlinks, submodules and files over the size cap


class GitIntakeError(Exception):
    """A clone that cannot be exported; the message names the repository and what failed."""


def is_git_clone(folder: Path) -> bool:
    """Whether `folder/.git` is a folder or a `gitdir:` file (never followed as a symlink)."""
    try:
        info = os.lstat(Path(folder) / ".git")
    except OSError:
        return False
    if stat.S_ISDIR(info.st_mode):
        return True
    if not stat.S_ISREG(info.st_mode) or info.st_size > 4096:
        return False
    try:
        with open(Path(folder) / ".git", "rb") as handle:
            return handle.read(8) == b"gitdir: "
    except OSError:
        return False


def _git_dir(repo: Path) -> Path:
    """The clone's git directory: .git, or where a `gitdir:` file points if that stays inside the clone."""
    dot_git = repo / ".git"
    if not is_git_clone(repo):
        raise GitIntakeError(tr("{repo}: not a git clone (no .git folder)", repo=repo))
    if dot_git.is_dir() and not dot_git.is_symlink():
        return dot_git
    target = Path(dot_git.read_text(encoding="utf-8", errors="replace")[8:].strip())
    target = Path(os.path.realpath(repo / target))
    real_repo = Path(os.path.realpath(repo))
    if real_repo not in target.parents:
        raise GitIntakeError(tr("{repo}: its .git file points outside the clone ({target}); not read",
                                repo=repo, target=target))
    return target


class _Git:
    """git run on one clone's git directory with a clean environment and the safe overrides."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        executable = shutil.which("git")
        if executable is None:
            raise GitIntakeError(tr("{repo}: git is not installed, so the clone cannot be read (apt-get install git)",
                                    repo=repo))
        git_dir = _git_dir(repo)
        self.env = {"PATH": os.environ.get("PATH", ""), "GIT_DIR": str(git_dir), "GIT_CONFIG_NOSYSTEM": "1",
                    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_ATTR_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
                    "GIT_OPTIONAL_LOCKS": "0", "GIT_NO_REPLACE_OBJECTS": "1", "GIT_LFS_SKIP_SMUDGE": "1",
                    "LC_ALL": "C", "HOME": os.devnull}
        overrides = _OVERRIDES + (f"safe.directory={os.path.realpath(repo)}", f"safe.directory={git_dir}")
        self.command = [executable, "--no-pager"] + [arg for item in overrides for arg in ("-c", item)]

    def run(self, *args: str) -> str:
        try:
            done = subprocess.run(self.command + list(args), env=self.env, cwd="/",
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise GitIntakeError(tr("{repo}: git {command} failed: {error}", repo=self.repo, command=args[0],
                                    error=error)) from None
        if done.returncode != 0:
            raise GitIntakeError(tr("{repo}: git {command} failed: {error}", repo=self.repo, command=args[0],
                                    error=done.stderr.decode("utf-8", "replace").strip()))
        return done.stdout.decode("utf-8", "surrogateescape")

    def objects(self) -> subprocess.Popen:
        """A `cat-file --batch` process: write a sha and a newline, read '<sha> <type> <size>', the bytes, '\\n'."""
        return subprocess.Popen(self.command + ["cat-file", "--batch"], env=self.env, cwd="/",
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def _read_object(batch: subprocess.Popen, sha: str) -> tuple[str, int]:
    """Ask `batch` for `sha`: (its type, its size); its bytes follow on batch.stdout."""
    batch.stdin.write(sha.encode() + b"\n")
    batch.stdin.flush()
    header = batch.stdout.readline().decode().split()
    if len(header) != 3:
        raise OSError(f"object {sha} is missing")
    return header[1], int(header[2])


def _commit(batch: subprocess.Popen, sha: str) -> tuple[datetime, str]:
    """A commit's committer time (with its offset) and subject, parsed from the raw object."""
    _, size = _read_object(batch, sha)
    raw = batch.stdout.read(size + 1)[:size].decode("utf-8", "replace")
    head, _, message = raw.partition("\n\n")
    when = datetime.fromtimestamp(0, timezone.utc)
    for line in head.splitlines():
        if line.startswith("committer "):
            seconds, offset = line.rsplit(" ", 2)[1:]
            sign = -1 if offset.startswith("-") else 1
            zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
            when = datetime.fromtimestamp(int(seconds), zone)
    return when, message.strip().split("\n", 1)[0]


def export_commit(repo: Path, dest: Path, at_or_before: datetime | None = None,
                  limits: ArchiveLimits = DEFAULT_LIMITS) -> GradedCommit:
    """Write the files of HEAD's latest commit (or of the last one committed at or before `at_or_before`)
    into the new folder `dest`; the clone is only read. Raises GitIntakeError, leaving no `dest`."""
    repo, dest = Path(repo), Path(dest)
    if os.path.lexists(dest):
        raise FileExistsError(tr("{dest} already exists; archives are unpacked into a new folder", dest=dest))
    git = _Git(repo)
    try:
        head = git.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}").strip()
    except GitIntakeError:
        raise GitIntakeError(tr("{repo}: HEAD has no commit", repo=repo)) from None
    history = git.run("rev-list", head).split()
    if at_or_before is not None and at_or_before.tzinfo is None:
        at_or_before = at_or_before.replace(tzinfo=timezone.utc)
    batch = git.objects()
    try:
        graded, later = _choose(batch, repo, head, history, at_or_before)
        when, subject = _commit(batch, graded)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(dest, 0o755)
        try:
            files, skipped = _write_tree(git, batch, graded, dest, limits)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
    except OSError as error:
        raise GitIntakeError(tr("{repo}: git {command} failed: {error}", repo=repo, command="cat-file",
                                error=error)) from None
    finally:
        batch.stdin.close()
        batch.wait()
        batch.stdout.close()
    return GradedCommit(graded, when, subject, len(history), later, tuple(files), tuple(skipped))


def _choose(batch: subprocess.Popen, repo: Path, head: str, history: list[str],
            at_or_before: datetime | None) -> tuple[str, int]:
    """The graded commit: HEAD, or the latest committed at or before the deadline; and how many came later."""
    if at_or_before is None:
        return head, 0
    times = {sha: _commit(batch, sha)[0] for sha in history}
    early = [sha for sha in history if times[sha] <= at_or_before]
    if not early:
        first = min(times.values())
        raise GitIntakeError(tr("{repo}: no commit at or before {deadline} (the first is from {first})", repo=repo,
                                deadline=at_or_before.isoformat(), first=first.isoformat()))
    return max(early, key=lambda sha: times[sha]), len(history) - len(early)


def _write_tree(git: _Git, batch: subprocess.Popen, sha: str, dest: Path,
                limits: ArchiveLimits) -> tuple[list[str], list[str]]:
    """Write every blob of the commit's tree under the archive caps; links, submodules, oversize files skipped."""
    label = str(git.repo)
    budget, members, skipped = _Budget(limits), [], []
    listing = git.run("ls-tree", "-r", "-z", "-l", "--full-tree", sha)
    try:
        for entry in filter(None, listing.split("\0")):
            meta, path = entry.split("\t", 1)
            mode, kind, blob, size = meta.split()
            budget.count(label, path)
            name = _safe_name(path, label)
            if {"", ".", ".."} & set(path.replace("\\", "/").split("/")):  # git itself never writes these
                raise ArchiveError(label, "traversal", path)
            if any(part.lower() == ".git" for part in name.split("/")):
                skipped.append(tr("{path}: a .git inside the tree; not written", path=path))
            elif mode == "120000":
                skipped.append(tr("{path}: a symbolic link; not written", path=path))
            elif kind != "blob" or mode not in _BLOB_MODES:
                skipped.append(tr("{path}: a submodule or other non-file entry; not written", path=path))
            elif int(size) > limits.max_file_bytes:
                skipped.append(tr("{path}: {size} is over the cap of {limit} per file; not written", path=path,
                                  size=_size_text(int(size)), limit=_size_text(limits.max_file_bytes)))
            else:
                members.append(_Member(path, "file", int(size), None, blob, name))
        total = sum(m.size for m in members)
        if total > limits.max_total_bytes:
            raise ArchiveError(label, "bomb-size", None, limit=_size_text(limits.max_total_bytes))
        level = _Level(os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC), label,
                       total, budget)
        try:
            for member in members:
                _, size = _read_object(batch, member.handle)
                out, left = level.sink(member), size
                while left:
                    chunk = batch.stdout.read(min(left, 2**20))
                    if not chunk:
                        raise OSError(f"object {member.handle} ended early")
                    out.write(chunk)
                    left -= len(chunk)
                out.close()
                batch.stdout.read(1)  # the newline after the object
        finally:
            level.close()
            os.close(level.root_fd)
    except ArchiveError as error:
        raise GitIntakeError(str(error)) from None
    return sorted(m.name for m in members), skipped
