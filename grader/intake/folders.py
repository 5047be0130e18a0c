"""Today's layout: a folder of student folders, one immediate sub-folder per hand-in, graded in place."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from grader.i18n import tr
from grader.intake import FOLDERS, Evidence, Handin, Intake, IntakeOptions, Student, files_under


def student_folders(root: Path, exclude: Collection[Path] = ()) -> list[Path]:
    """Immediate sub-folders of `root`, one per student, in name order (hidden ones and `exclude` skipped)."""
    skipped = {p.resolve() for p in exclude}
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))
                   and p.resolve() not in skipped), key=lambda p: p.name)


def detect(names: list[str]) -> Evidence | None:
    """Any tree with sub-folders reads this way, but only when no system recognises it (weak)."""
    folders = {n.split("/", 1)[0] for n in names if "/" in n and not n.startswith((".", "__"))}
    return Evidence(FOLDERS, False, tr("{count} sub-folders", count=len(folders))) if folders else None


def read(path: Path, scratch: Path, options: IntakeOptions) -> Intake:
    """One hand-in per sub-folder, named by it; no identity beyond the folder name is guessed."""
    handins = []
    for folder in student_folders(path, exclude=options.exclude):
        files = [p.relative_to(folder).as_posix() for p in files_under(folder)]
        handins.append(Handin(key=folder.name, student=Student(), folder=folder, files=files, system=FOLDERS))
    return Intake(FOLDERS, handins, files=sum(len(h.files) for h in handins))
