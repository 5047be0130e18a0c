"""Discover: the notebooks and Python files a hand-in consists of."""

from __future__ import annotations

from pathlib import Path

SOURCE_SUFFIXES = (".ipynb", ".py")
_SKIPPED_DIRS = {".ipynb_checkpoints", "__pycache__", "__MACOSX", "site-packages", "node_modules"}


def find_sources(path: Path) -> list[Path]:
    """Return the hand-in's source files: `path` itself, or every source below it (recursive).

    Hidden folders, notebook checkpoints and virtual environments are skipped; the order is
    stable (sorted by relative path) so that grading is deterministic.
    """
    if path.is_file():
        return [path] if path.suffix.lower() in SOURCE_SUFFIXES else []
    found = []
    for candidate in path.rglob("*"):
        relative = candidate.relative_to(path)
        if any(part.startswith(".") or part in _SKIPPED_DIRS for part in relative.parts[:-1]):
            continue
        if relative.name.startswith("."):
            continue
        if candidate.is_file() and candidate.suffix.lower() in SOURCE_SUFFIXES:
            found.append(candidate)
    return sorted(found, key=lambda p: p.relative_to(path).as_posix())
