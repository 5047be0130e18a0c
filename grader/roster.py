"""Rosters: join hand-in folders to the students of a course, and export grades for an LMS.

`dlgrade batch DIR --roster roster.csv --roster-key COLUMN [--folder-prefix hw1-]` matches each
hand-in folder (minus the prefix GitHub Classroom puts before the user name) to the roster row
whose COLUMN holds that name, case-insensitively. Nobody is dropped silently: students with no
hand-in go to missing.csv (and, with --zero-missing, get a 0 row in grades.csv), folders that
match no student go to unmatched.csv and the summary line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from grader.i18n import _, tr


class RosterError(ValueError):
    """A roster that cannot be used, with the file and what is wrong."""


@dataclass(frozen=True)
class Roster:
    columns: list[str]
    rows: list[dict[str, str]]
    key: str
    prefix: str = ""

    @classmethod
    def read(cls, path: Path, key: str, prefix: str = "") -> "Roster":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise RosterError(tr("cannot read the roster {path}: {error}", path=path, error=error)) from None
        reader = csv.DictReader(io.StringIO(text))
        columns = [c for c in (reader.fieldnames or []) if c]
        if key not in columns:
            raise RosterError(tr("{path}: no column {key!r} (--roster-key); columns: {columns}", path=path, key=key,
                                 columns=", ".join(columns) or _("none")))
        rows = [{c: (row.get(c) or "").strip() for c in columns} for row in reader]
        seen: dict[str, int] = {}
        for number, row in enumerate(rows, start=2):
            name = row[key].lower()
            if name and name in seen:
                raise RosterError(tr("{path}: {key} {value!r} appears twice (lines {first} and {second})", path=path,
                                     key=key, value=row[key], first=seen[name], second=number))
            seen[name] = number
        return cls(columns, rows, key, prefix)

    def student(self, folder: str) -> str:
        """The roster name a folder stands for: the folder name without the prefix."""
        name = folder.strip()
        if self.prefix and name.lower().startswith(self.prefix.lower()):
            name = name[len(self.prefix):]
        return name.lower()

    def join(self, folders: list[str]) -> "Joined":
        by_name = {row[self.key].lower(): row for row in self.rows if row[self.key]}
        joined = Joined()
        for folder in folders:
            row = by_name.get(self.student(folder))
            if row is None:
                joined.unmatched.append(folder)
            else:
                joined.matched[folder] = row
        found = {id(row) for row in joined.matched.values()}
        joined.missing = [row for row in self.rows if id(row) not in found]
        return joined


@dataclass
class Joined:
    matched: dict[str, dict[str, str]] = field(default_factory=dict)  # hand-in folder -> roster row
    missing: list[dict[str, str]] = field(default_factory=list)  # roster rows with no hand-in
    unmatched: list[str] = field(default_factory=list)  # hand-in folders with no roster row


def _column(row: dict[str, str], *names: str) -> str:
    """The first of `names` the roster has (case-insensitively), or ''."""
    lowered = {k.lower(): v for k, v in row.items()}
    return next((lowered[n.lower()] for n in names if n.lower() in lowered), "")


def canvas_csv(scored: list[tuple[dict[str, str], float | None]], assignment: str) -> str:
    """Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then one
    column named like the assignment ("Name (id)" for an existing one). None: no grade."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
    for row, score in scored:
        writer.writerow([_column(row, "Student", "name", "full name"), _column(row, "ID", "canvas id"),
                         _column(row, "SIS User ID", "student id", "student_id"),
                         _column(row, "SIS Login ID", "login", "email", "github", "username"),
                         _column(row, "Section"), "" if score is None else f"{score:g}"])
    return out.getvalue()


def moodle_csv(scored: list[tuple[dict[str, str], float | None]], assignment: str) -> str:
    """Moodle's grade import (Grades > Import > CSV file): an identifier column to map users by
    (Email address, or ID number), then one grade column named like the grade item."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Email address", "ID number", assignment])
    for row, score in scored:
        writer.writerow([_column(row, "Email address", "email"), _column(row, "ID number", "student id", "ID"),
                         "" if score is None else f"{score:g}"])
    return out.getvalue()


@dataclass(frozen=True)
class RosterOptions:
    """What a batch does with a roster: the roster, zero rows for missing students, LMS exports."""

    roster: Roster
    zero_missing: bool = False
    exports: tuple[str, ...] = ()  # "canvas", "moodle"
    assignment: str = "dlgrade"


EXPORTS = {"canvas": canvas_csv, "moodle": moodle_csv}


def roster_files(results: list[dict], options: RosterOptions) -> tuple[Joined, dict[str, str]]:
    """The join of `results` to the roster, and the files it adds (name -> text): missing.csv,
    unmatched.csv and one `<lms>.csv` per export. grades.csv gains the roster's columns elsewhere."""
    joined = options.roster.join([str(r.get("submission", "")) for r in results])
    scores = {str(r.get("submission", "")): float(r.get("score", 0)) for r in results}
    files = {}
    out = io.StringIO()
    writer = csv.DictWriter(out, options.roster.columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(joined.missing)
    files["missing.csv"] = out.getvalue()
    files["unmatched.csv"] = "folder\n" + "".join(f"{_safe(name)}\n" for name in joined.unmatched)
    missing_score = 0.0 if options.zero_missing else None
    scored = [(row, scores[folder]) for folder, row in joined.matched.items()] + [(row, missing_score) for row in joined.missing]
    for export in options.exports:
        files[f"{export}.csv"] = EXPORTS[export](scored, options.assignment)
    return joined, files


def _safe(name: str) -> str:
    """A folder name as one CSV cell (quoted when needed, never a spreadsheet formula)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(["'" + name if name[:1] in "=+-@" else name])
    return out.getvalue()
