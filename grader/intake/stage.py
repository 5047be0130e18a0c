"""The intake stage: recognise which system a download comes from, read it, materialise its hand-ins.

Recognition looks at names only (a zip's member list, a folder's file tree), so an ambiguous or
unrecognised download is refused before anything is written. Then a zip is unpacked safely into
`--out/intake/download/`, the adapter reads it, and each hand-in's files are copied into
`--out/intake/<key>/` with the student's archives unpacked there. The input is never changed.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from grader.i18n import tr
from grader.intake import FOLDERS, Evidence, Handin, Intake, IntakeError, IntakeOptions, is_junk, unique_keys
from grader.intake import archives, blackboard, brightspace, canvas, classroom, folders, gradescope, moodle

ADAPTERS: dict[str, ModuleType] = {"canvas": canvas, "moodle": moodle, "blackboard": blackboard,
                                   "gradescope": gradescope, "brightspace": brightspace, "git": classroom,
                                   "folders": folders}
SCRATCH = "intake"  # under --out
DOWNLOAD = "download"  # under the scratch: the unpacked download zip
DOWNLOAD_BYTES = 4 * 2**30  # the least a whole class's download may unpack to


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
        partial = [e for e in found if e.system != FOLDERS]
        if not forced and (len(strong) > 1 or (partial and not strong)):
            listed = "; ".join(f"{e.system} ({e.reason})" for e in partial)
            raise IntakeError(tr("the download reads as more than one system, or only partly as one: {candidates}; "
                                 "choose with --intake {choices}", candidates=listed,
                                 choices="|".join([e.system for e in partial] + [FOLDERS])))
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
    scratch, download = out / SCRATCH, out / SCRATCH / DOWNLOAD
    root = path
    if path.is_file():
        shutil.rmtree(download, ignore_errors=True)
        scratch.mkdir(parents=True, exist_ok=True)
        try:
            archives.unpack(path, download, _download_limits(limits, names))
        except (archives.ArchiveError, OSError) as error:
            raise IntakeError(tr("{path}: the download cannot be unpacked: {error}", path=path, error=error)) from None
        root = download
    root = root / inner if inner else root
    options = replace(options, limits=limits or options.limits)
    if system == "moodle" and options.worksheet is None:
        options = replace(options, worksheet=_worksheet_beside(path))
    intake = ADAPTERS[system].read(root, scratch, options)
    if system != FOLDERS or path.is_file():
        unique_keys(intake.handins)
        for handin in intake.handins:
            if handin.folder is None:
                intake.unpacked += materialise(handin, scratch / handin.key, options.limits, move=path.is_file())
    if path.is_file() and all(h.folder is not None and download not in h.folder.parents for h in intake.handins):
        shutil.rmtree(download, ignore_errors=True)  # everything needed was moved out of it
    return intake


def _worksheet_beside(path: Path) -> Path | None:
    """Moodle's grading worksheet beside the download (or inside its folder), if there is exactly one."""
    places = [path.parent] + ([path] if path.is_dir() else [])
    found = sorted({p.resolve() for place in places for p in place.glob("*.csv") if moodle.is_worksheet(p)})
    return found[0] if len(found) == 1 else None


def _download_limits(limits, names: list[str]):
    """The caps for the download itself: a class's zip holds as many members as its students together,
    and students' archives inside it are unpacked later, each on its own (one bad one costs one student)."""
    limits = limits or archives.DEFAULT_LIMITS
    return replace(limits, max_members=max(limits.max_members, len(names) + 1),
                   max_total_bytes=max(limits.max_total_bytes, DOWNLOAD_BYTES), max_depth=1)


def materialise(handin: Handin, dest: Path, limits=None, move: bool = False) -> int:
    """Copy the hand-in's files into `dest` (made fresh), unpacking archives there; returns how many
    archives were unpacked. With `move`, files are moved instead (from a download unpacked under --out,
    never from the input: creating files is what takes the time). A refused archive empties `dest` and
    sets `handin.error`: the hand-in fails to load, naming the archive, the member and the rule, and
    nobody else is affected."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    handin.folder = dest
    unpacked = 0
    for source, name in sorted(handin.sources, key=lambda pair: pair[1]):
        if is_junk(name):
            handin.left_out.append(tr("{name}: system or editor metadata, not the student's work", name=name))
            continue
        name = _inside(name, source)
        target = dest / name
        if not archives.is_archive(source):
            target.parent.mkdir(parents=True, exist_ok=True)
            if move:
                os.replace(source, target)
            else:
                shutil.copyfile(source, target)
            handin.files.append(name)
            continue
        folder = _archive_folder(target)
        try:
            result = archives.unpack(source, folder, limits or archives.DEFAULT_LIMITS)
        except archives.ArchiveError as error:
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            handin.error, handin.files = str(error).replace(str(source), name), []
            return unpacked
        inside = folder.relative_to(dest).as_posix()
        handin.archives += [name] + [f"{name}/{a}" for a in result.archives[1:]]
        handin.files += [f"{inside}/{f}" for f in result.files]
        handin.left_out += [tr("{name}: macOS, Windows or editor metadata in {archive}; dropped", name=f, archive=name)
                            for f in result.dropped]
        handin.left_out += [tr("{name}: an archive nested too deep in {archive}; left packed", name=f, archive=name)
                            for f in result.kept]
        unpacked += 1
    return unpacked


def _inside(name: str, source: Path) -> str:
    """A file's name in the hand-in as a relative path that stays inside it: a name a system took from the
    student (Blackboard's original file name) may climb out with `..` or be absolute; then its last part."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        last = [p for p in parts if p != ".."]
        return last[-1] if last else source.name
    return "/".join(parts)


def _archive_folder(target: Path) -> Path:
    """Where an archive's contents go: beside it, under its name without the archive suffix (made unique)."""
    from grader.intake.archives import SUFFIXES

    lower = target.name.lower()
    stem = next((target.name[: -len(s)] for s in sorted(SUFFIXES, key=len, reverse=True) if lower.endswith(s)),
                target.name) or "archive"
    folder, number = target.with_name(stem), 1
    while os.path.lexists(folder):
        number += 1
        folder = target.with_name(f"{stem}_unpacked{number if number > 2 else ''}")
    return folder

