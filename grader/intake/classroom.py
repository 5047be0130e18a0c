"""GitHub Classroom (`gh classroom clone student-repos`): `<assignment>-submissions/<prefix>-<login>/`, each a
git clone (often a fork of the whole course). Each is read with git plumbing into `--out/intake/<key>/`
(grader.intake.git: no checkout in the clone, never its hooks): the latest commit, or with a deadline
the last commit at or before it. Its committer time is the submission time, which the student sets.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from grader.i18n import tr
from grader.intake import Evidence, Handin, Intake, IntakeOptions, Student, is_junk, slug

SYSTEM = "git"
SUFFIX = "-submissions"


def detect(names: list[str]) -> Evidence | None:
    """Strong when most top-level folders are git clones."""
    tops = {n.split("/", 1)[0] for n in names if not is_junk(n) and "/" in n}
    clones = {n.split("/", 1)[0] for n in names if n.count("/") == 2 and n.endswith("/.git/")}
    if not clones:
        return None
    return Evidence(SYSTEM, len(clones) >= 0.6 * len(tops),
                    tr("{count} of {total} folders are git clones", count=len(clones), total=len(tops)))


def _prefix(root: Path, names: list[str], given: str) -> str:
    """What stands before the login: `--folder-prefix`, else `<assignment>-` of `<assignment>-submissions`,
    else the longest common start ending in `-` (when there are several clones)."""
    if given:
        return given
    if root.name.endswith(SUFFIX) and all(n.startswith(root.name[: -len(SUFFIX)] + "-") for n in names):
        return root.name[: -len(SUFFIX)] + "-"
    if len(names) < 2:
        return ""
    common = os.path.commonprefix(names)
    return common[: common.rfind("-") + 1]


def read(root: Path, scratch: Path, options: IntakeOptions) -> Intake:
    """One hand-in per clone, exported at its latest commit (or the last one at or before the deadline),
    under the archive caps."""
    from grader.intake import git

    clones = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and git.is_git_clone(p))
    prefix = _prefix(root, [p.name for p in clones], options.prefix)
    intake = Intake(SYSTEM, [], [tr("commit times are set by the student")])
    intake.notes += [tr("{name}: not a git clone; left out", name=p.name) for p in sorted(root.iterdir())
                     if p not in clones and not is_junk(p.name) and not p.name.startswith(".")]
    for clone in clones:
        login = clone.name[len(prefix):] if prefix and clone.name.startswith(prefix) else clone.name
        handin = Handin(key=slug(login), student=Student(login=login), system=SYSTEM,
                        time_source="git commit (set by the student)")
        intake.handins.append(handin)
        handin.folder = scratch / handin.key  # keys of logins are unique: GitHub logins are
        shutil.rmtree(handin.folder, ignore_errors=True)
        try:
            commit = git.export_commit(clone, handin.folder, options.deadline, options.limits or git.DEFAULT_LIMITS)
        except (git.GitIntakeError, OSError) as error:
            shutil.rmtree(handin.folder, ignore_errors=True)
            handin.folder.mkdir(parents=True)
            handin.error = tr("git clone {name}: {error}", name=clone.name, error=error)
            continue
        handin.commit, handin.submitted_at = commit, commit.committed_at
        handin.files, handin.left_out = list(commit.files), list(commit.skipped)
        if commit.later_commits:
            handin.attempts.append({"commits": commit.later_commits, "reason": tr(
                "{count} commits after the deadline, not graded", count=commit.later_commits)})
        intake.files += len(handin.files)
    return intake
