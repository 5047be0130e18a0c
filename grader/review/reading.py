"""The Part 4 report as the reviewer reads it: the text of every place the report check read, taken
from the hand-in folder the batch graded (read only, through discover's checks: nothing outside the
hand-in is opened, and nothing is run)."""

from __future__ import annotations

from pathlib import Path

from grader.discover import DEFAULT_MAX_FILE_BYTES, REPORT_SUFFIXES, discover, read_source
from grader.overrides import notebook_markdown

MAX_CHARS = 50_000  # per place shown
_BINARY = (".pdf", ".docx")  # their text is read in the sandbox only; the reviewer opens the file


def _read(entry: str, path: str) -> bool:
    """Whether the report check's `entry` ("report.md", "hw.ipynb (markdown cells)") names `path`."""
    return entry == path or entry.startswith((path + " ", path + "（"))


def report_texts(handin: Path, used: list[str], max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[tuple[str, str]]:
    """(place, text) of each text file and notebook the report check read, in the hand-in's order."""
    if not handin.is_dir():
        return []
    found = []
    for source in discover(handin, max_bytes, REPORT_SUFFIXES + (".ipynb",)).sources:
        place = source.relative_to(handin).as_posix()
        if source.suffix.lower() in _BINARY or not any(_read(entry, place) for entry in used):
            continue
        try:
            data = read_source(source, max_bytes)
        except OSError:
            continue
        text = notebook_markdown(data).decode("utf-8", "replace") if source.suffix == ".ipynb" else \
            data.decode("utf-8", "replace")
        found.append((place, text[:MAX_CHARS]))
    return found


def marks(evidence: list[dict]) -> dict[str, dict[int, bool]]:
    """Place -> {line number: whether it counted} for the lines of text files the report check
    quoted as evidence (the nearest candidate of a missing section: False)."""
    found: dict[str, dict[int, bool]] = {}
    for item in evidence:
        if isinstance(item, dict) and item.get("file") and item.get("line"):
            lines = found.setdefault(str(item["file"]), {})
            lines[int(item["line"])] = lines.get(int(item["line"]), False) or bool(item.get("counted"))
    return found
