"""The intake stage: recognise which system a download comes from, read it, materialise its hand-ins.

Recognition looks at names only (a zip's member list, a folder's file tree), so an ambiguous or
unrecognised download is refused before anything is written. Then a zip is unpacked safely into
`--out/intake/download/`, the adapter reads it, and each hand-in's files are copied into
`--out/intake/<key>/` with the student's archives unpacked there. The input is never changed.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from grader.i18n import _, tr
from grader.intake import (FOLDERS, LABELS, Evidence, Handin, Intake, IntakeError, IntakeOptions, files_under,
                           is_junk, unique_keys)
from grader.intake import blackboard, brightspace, canvas, classroom, folders, gradescope, moodle

ADAPTERS: dict[str, ModuleType] = {"canvas": canvas, "moodle": moodle, "blackboard": blackboard,
                                   "gradescope": gradescope, "brightspace": brightspace, "git": classroom,
                                   "folders": folders}
SCRATCH = "intake"  # under --out
DOWNLOAD = "download"  # under the scratch: the unpacked download zip


def listing(path: Path, skip: Path | None = None) -> list[str]:
    """Relative posix names of the files of a folder or a zip (a git clone's `.git` as `<clone>/.git/`)."""
    if path.is_file():
        try:
            with zipfile.ZipFile(path) as archive:
                return [n.replace("\\", "/") for n in archive.namelist() if not n.endswith("/")]
        except (zipfile.BadZipFile, OSError) as error:
            raise IntakeError(tr("{path}: not a zip download ({error})", path=path, error=error)) from None
    names = []
    skipped = skip.resolve() if skip else None
    for top, dirs, files in os.walk(path):
        here = Path(top)
        if skipped is not None and here.resolve() == skipped:
            dirs.clear()
            continue
        relative = here.relative_to(path).as_posix()
        prefix = "" if relative == "." else relative + "/"
        if ".git" in dirs:
            names.append(prefix + ".git/")
            dirs.remove(".git")
        dirs.sort()
        names += [prefix + f for f in sorted(files)]
    return names


def _top_folder(names: list[str]) -> str | None:
    """The one folder everything lies in (a zip of a folder), if so."""
    tops = {n.split("/", 1)[0] for n in names if not is_junk(n)}
    if len(tops) == 1 and all("/" in n for n in names if not is_junk(n)):
        return tops.pop()
    return None


def _candidates(names: list[str]) -> list[Evidence]:
    return [e for adapter in ADAPTERS.values() if (e := adapter.detect(names)) is not None]


def recognise(names: list[str], forced: str | None = None) -> tuple[str, str]:
    """(system, the folder inside the download to read it from: '' for the top). Forced by `--intake`,
    else the one system whose names fit strongly (looking inside a single top folder too), else today's
    folder of student folders; IntakeError when several systems fit or none does."""
    inner, fallback = "", None
    while True:
        found = _candidates(names)
        strong = [e for e in found if e.strong]
        if forced and any(e.system == forced for e in found):
            return forced, inner
        if not forced and len(strong) == 1:
            return strong[0].system, inner
        if not forced and len(strong) > 1:
            listed = "; ".join(f"{e.system} ({e.reason})" for e in strong)
            raise IntakeError(tr("the download reads as more than one system: {candidates}; choose one with "
                                 "--intake {choices}", candidates=listed, choices="|".join(e.system for e in strong)))
        if fallback is None and any(e.system == FOLDERS for e in found):
            fallback = (FOLDERS, inner)
        top = _top_folder(names)
        if top is None:
            break
        names = [n.split("/", 1)[1] for n in names if n.startswith(top + "/")]
        inner = f"{inner}{top}/"
    if forced:
        return forced, ""
    if fallback is not None:
        return fallback
    if not names:  # an empty folder: a class with nobody in it yet, as always
        return FOLDERS, ""
    raise IntakeError(tr("no system recognised in the download ({count} files); tried {systems}. Name it with "
                         "--intake {choices}", count=len(names), systems=", ".join(ADAPTERS),
                         choices="|".join(ADAPTERS)))


def take_in(path: Path, out: Path, options: IntakeOptions, forced: str | None = None, limits=None) -> Intake:
    """Recognise, read and materialise the hand-ins of `path` (a folder or a zip) under `out/intake/`.

    Raises IntakeError (nothing written) when the system is ambiguous or unrecognised. `limits` are
    the archive caps (grader.intake.archives.ArchiveLimits), needed when there are archives to unpack.
    """
    names = listing(path, skip=out)
    system, inner = recognise(names, forced)
    scratch = out / SCRATCH
    root = path
    if path.is_file():
        from grader.intake import archives

        download = scratch / DOWNLOAD
        shutil.rmtree(download, ignore_errors=True)
        scratch.mkdir(parents=True, exist_ok=True)
        try:
            archives.unpack(path, download, _download_limits(limits, names))
        except archives.ArchiveError as error:
            raise IntakeError(tr("{path}: the download cannot be unpacked: {error}", path=path, error=error)) from None
        root = download
    root = root / inner if inner else root
    if system == "moodle" and options.worksheet is None:
        options = replace(options, worksheet=_worksheet_beside(path))
    intake = ADAPTERS[system].read(root, scratch, options)
    if system != FOLDERS or path.is_file():
        unique_keys(intake.handins)
        for handin in intake.handins:
            if handin.folder is None:
                intake.unpacked += materialise(handin, scratch / handin.key, limits)
    return intake


def _worksheet_beside(path: Path) -> Path | None:
    """Moodle's grading worksheet beside the download (or inside its folder), if there is exactly one."""
    places = [path.parent] + ([path] if path.is_dir() else [])
    found = sorted({p.resolve() for place in places for p in place.glob("*.csv") if moodle.is_worksheet(p)})
    return found[0] if len(found) == 1 else None


def _download_limits(limits, names: list[str]):
    """The caps for the download itself: a class's zip holds as many members as its students together,
    and students' archives inside it are unpacked later, each on its own (one bad one costs one student)."""
    from grader.intake import archives

    limits = limits or archives.ArchiveLimits(2**34, 10**6, 2**31, 1000.0)
    return replace(limits, max_members=max(limits.max_members, len(names) + 1),
                   max_total_bytes=max(limits.max_total_bytes, 2**34), max_depth=1)


def materialise(handin: Handin, dest: Path, limits) -> int:
    """Copy the hand-in's files into `dest` (made fresh), unpacking archives there; returns how many
    archives were unpacked. A refused archive empties `dest` and sets `handin.error`: the hand-in
    fails to load, naming the archive, the member and the rule, and nobody else is affected."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    handin.folder = dest
    unpacked = 0
    for source, name in handin.sources:
        if is_junk(name):
            handin.left_out.append(tr("{name}: system or editor metadata, not the student's work", name=name))
            continue
        target = dest / name
        if _is_archive(source):
            from grader.intake import archives

            try:
                result = archives.unpack(source, _archive_folder(target), limits or archives.ArchiveLimits(
                    2**30, 10_000, 2**28, 100.0))
            except archives.ArchiveError as error:
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir(parents=True)
                handin.error = tr("archive {archive} refused: {error}", archive=name, error=error)
                handin.files = []
                return unpacked
            handin.archives.append(name)
            handin.files += [f"{_archive_folder(target).relative_to(dest).as_posix()}/{f}" for f in result.files]
            handin.left_out += [tr("{name}: dropped from {archive}", name=f, archive=name) for f in result.dropped]
            unpacked += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        handin.files.append(name)
    return unpacked


def _is_archive(path: Path) -> bool:
    from grader.intake import archives

    return archives.is_archive(path)


def _archive_folder(target: Path) -> Path:
    """Where an archive's contents go: beside it, under its name without the archive suffixes."""
    name = target.name
    for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".rar", ".7z", ".tar", ".gz"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return target.with_name(name or "archive")


def describe(system: str) -> str:
    return _(LABELS[system])


__all__ = ["ADAPTERS", "take_in", "recognise", "listing", "materialise", "files_under"]
