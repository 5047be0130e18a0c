"""Discover: the notebooks and Python files a hand-in consists of, and how to read them safely.

A hand-in is hostile input: a symlink may lead to a classmate's notebook or to `/etc/passwd`,
a "notebook" may be a FIFO or `/dev/zero`, a file may be gigabytes. Only regular files that
really lie inside the hand-in folder, up to a size cap, are ever opened; everything else is
skipped with a note saying why, so the targets it would have held are missing, never graded
from somewhere else.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from grader.i18n import _, tr

SOURCE_SUFFIXES = (".ipynb", ".py")
REPORT_SUFFIXES = (".md", ".markdown", ".txt", ".rst", ".pdf", ".docx")  # Part 4's report
DATA_SUFFIXES = (".npy", ".npz", ".csv", ".txt", ".json", ".dat", ".pkl", ".pt", ".pth", ".h5", ".mat")  # beside Part 4's code
GRADED_SUFFIXES = tuple(dict.fromkeys(SOURCE_SUFFIXES + REPORT_SUFFIXES + DATA_SUFFIXES))  # what can change a grade
DEFAULT_MAX_FILE_BYTES = 64 * 2**20
_SKIPPED_DIRS = {".ipynb_checkpoints", "__pycache__", "__MACOSX", "site-packages", "node_modules"}


class UnsafeSource(OSError):
    """A hand-in file that must not be read (not a regular file, too large, outside the hand-in)."""


@dataclass
class Discovery:
    """The hand-in's readable source files, in a stable order, and notes on what was skipped."""

    sources: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # relative path -> why it was not read


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") or part in _SKIPPED_DIRS for part in relative.parts[:-1]) \
        or relative.name.startswith(".")


def vet(path: Path, root: Path, max_bytes: int) -> str | None:
    """Why `path` must not be read as part of the hand-in rooted at `root` (None: it may be).

    Symlinks are followed only while they stay inside the hand-in; the target must be a regular
    file (not a FIFO, a device or a socket) of at most `max_bytes`.
    """
    real = Path(os.path.realpath(path))
    real_root = Path(os.path.realpath(root))
    if real != real_root and real_root not in real.parents:
        return _("a symlink to a file outside the hand-in; not read")
    try:
        info = os.stat(real)
    except OSError as error:
        return tr("cannot be read ({error})", error=error.strerror or error)
    if not stat.S_ISREG(info.st_mode):
        return _("not a regular file (a device, FIFO or socket); not read")
    if info.st_size > max_bytes:
        return tr("{size:.1f} MB, over the {limit:g} MB limit per file; not read", size=info.st_size / 2**20,
              limit=max_bytes / 2**20)
    return None


def read_source(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """The bytes of a vetted source file: opened without following a last-moment symlink and
    without blocking, checked to be a regular file, and never read past `max_bytes`."""
    fd = os.open(os.path.realpath(path), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeSource(tr("{name}: not a regular file", name=path.name))
        chunks, remaining = [], max_bytes + 1
        while remaining > 0 and (chunk := os.read(fd, min(remaining, 2**22))):
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise UnsafeSource(tr("{name}: over the {limit:g} MB limit per file", name=path.name,
                                  limit=max_bytes / 2**20))
        return data
    finally:
        os.close(fd)


def discover(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES, suffixes: tuple[str, ...] = SOURCE_SUFFIXES) -> Discovery:
    """The hand-in's files of the given `suffixes` (default: sources): `path` itself, or every such
    file below it (recursive).

    Hidden folders, notebook checkpoints and virtual environments are skipped, symlinked folders
    are not entered, and each file is vetted (`vet`); the order is stable (sorted by relative
    path) so that grading is deterministic. A file named on its own is trusted as to where it
    lives, not as to what it is.
    """
    found = Discovery()
    if not path.is_dir():
        if path.suffix.lower() in suffixes:
            problem = vet(path, Path(os.path.realpath(path)).parent, max_bytes)
            if problem:
                found.skipped[path.name] = problem
            else:
                found.sources.append(path)
        return found
    for folder, dirs, files in os.walk(path):  # os.walk does not enter symlinked folders
        dirs.sort()
        for name in files:
            candidate = Path(folder) / name
            relative = candidate.relative_to(path)
            if _is_hidden(relative) or candidate.suffix.lower() not in suffixes:
                continue
            problem = vet(candidate, path, max_bytes)
            if problem:
                found.skipped[relative.as_posix()] = problem
            else:
                found.sources.append(candidate)
    found.sources.sort(key=lambda p: p.relative_to(path).as_posix())
    return found


def find_sources(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
                 suffixes: tuple[str, ...] = SOURCE_SUFFIXES) -> list[Path]:
    """The readable source files of a hand-in (see `discover`), without the notes; with
    `suffixes=GRADED_SUFFIXES`, every file a grade may depend on (reports, data)."""
    return discover(path, max_bytes, suffixes).sources
