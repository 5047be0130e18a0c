"""Rosters: join hand-in folders to the students of a course, and export grades for an LMS.

`dlgrade batch DIR --roster roster.csv --roster-key COLUMN [--folder-prefix hw1-]` matches each
hand-in folder (minus the prefix GitHub Classroom puts before the user name) to the roster row
whose COLUMN holds that name, case-insensitively. Hand-ins from an LMS or GitHub Classroom carry the
ids the system gave (grader/intake): the roster joins on them without --roster-key when one of its
columns says which (Canvas `ID`, Moodle worksheet `Identifier`, Gradescope `sid` or email, GitHub
`github_username`), and every member of a group gets the grade. Nobody is dropped silently: students
with no hand-in go to missing.csv (and, with --zero-missing, get a 0 row in grades.csv), folders that
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


# per intake system: the roster columns that hold the ids it gives, and which id (grader.intake.Student)
ID_COLUMNS = {"canvas": (("ID", "id"),), "moodle": (("Identifier", "id"), ("Email address", "email")),
              "gradescope": (("sid", "id"), ("email", "email"), ("email address", "email")),
              "git": (("github_username", "login"),), "blackboard": (("username", "login"),),
              "brightspace": (("name", "name"),)}
PERSON_FIELDS = ("id", "login", "email", "name")


def id_column(columns: list[str], system: str) -> tuple[str, str] | None:
    """(roster column, student id field) the roster of a download of `system` joins on, if its columns say."""
    lowered = {c.lower(): c for c in columns}
    for column, field_name in ID_COLUMNS.get(system, ()):
        if column.lower() in lowered:
            return lowered[column.lower()], field_name
    return None


def _value(text: str, key: str) -> str:
    """A key cell as it is matched: lower case; Moodle's `Participant 123456` as its number."""
    text = (text or "").strip().lower()
    if key.lower() == "identifier" and text.startswith("participant"):
        return text[len("participant"):].strip()
    return text


@dataclass(frozen=True)
class Roster:
    columns: list[str]
    rows: list[dict[str, str]]
    key: str
    prefix: str = ""
    field: str | None = None  # the student id the key column holds (None: the folder name, or any id given)

    @classmethod
    def read(cls, path: Path, key: str | None, prefix: str = "", system: str | None = None) -> "Roster":
        """The roster at `path`, joined on column `key`; without one, on the column that holds the ids of
        `system`'s hand-ins (RosterError when none does)."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise RosterError(tr("cannot read the roster {path}: {error}", path=path, error=error)) from None
        reader = csv.DictReader(io.StringIO(text))
        columns = [c for c in (reader.fieldnames or []) if c]
        field_name = None
        if key is None:
            found = id_column(columns, system or "")
            if found is None:
                expected = ", ".join(c for c, _f in ID_COLUMNS.get(system or "", ())) or _("none for this system")
                raise RosterError(tr("{path}: no column says which students these hand-ins are (expected: {expected});"
                                     " name it with --roster-key COLUMN", path=path, expected=expected))
            key, field_name = found
        if key not in columns:
            raise RosterError(tr("{path}: no column {key!r} (--roster-key); columns: {columns}", path=path, key=key,
                                 columns=", ".join(columns) or _("none")))
        rows = [{c: (row.get(c) or "").strip() for c in columns} for row in reader]
        seen: dict[str, int] = {}
        for number, row in enumerate(rows, start=2):
            name = _value(row[key], key)
            if name and name in seen:
                raise RosterError(tr("{path}: {key} {value!r} appears twice (lines {first} and {second})", path=path,
                                     key=key, value=row[key], first=seen[name], second=number))
            seen[name] = number
        return cls(columns, rows, key, prefix, field_name)

    def student(self, folder: str) -> str:
        """The roster name a folder stands for: the folder name without the prefix."""
        name = folder.strip()
        if self.prefix and name.lower().startswith(self.prefix.lower()):
            name = name[len(self.prefix):]
        return name.lower()

    def _candidates(self, folder: str, people: list[dict]) -> list[list[str]]:
        """Per person of the hand-in, the values that may name them in the key column, best first."""
        if self.field:
            return [[_value(str(p.get(self.field) or ""), self.key)] for p in people]
        ids = [[_value(str(p.get(f) or ""), self.key) for f in PERSON_FIELDS] for p in people]
        return [[self.student(folder)] + (ids[0] if ids else [])] + ids[1:]

    def join(self, folders: list[str], people: dict[str, list[dict]] | None = None) -> "Joined":
        """Match hand-ins to rows; `people` (hand-in -> its students' ids, grader.intake.Student.to_dict)
        lets every member of a group find their row."""
        by_name = {_value(row[self.key], self.key): row for row in self.rows if row[self.key]}
        joined = Joined()
        for folder in folders:
            rows = []
            for values in self._candidates(folder, (people or {}).get(folder, [])):
                row = next((by_name[v] for v in values if v and v in by_name), None)
                if row is not None and all(row is not r for r in rows):
                    rows.append(row)
            if not rows:
                joined.unmatched.append(folder)
            else:
                joined.matched[folder], joined.groups[folder] = rows[0], rows
        found = {id(row) for rows in joined.groups.values() for row in rows}
        joined.missing = [row for row in self.rows if id(row) not in found]
        return joined


@dataclass
class Joined:
    matched: dict[str, dict[str, str]] = field(default_factory=dict)  # hand-in folder -> (first) roster row
    missing: list[dict[str, str]] = field(default_factory=list)  # roster rows with no hand-in
    unmatched: list[str] = field(default_factory=list)  # hand-in folders with no roster row
    groups: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # hand-in folder -> every member's row

    def rows(self) -> list[tuple[str, dict[str, str]]]:
        """(hand-in, roster row) for every student credited with a hand-in, a group's members each."""
        return [(folder, row) for folder, rows in self.groups.items() for row in rows]


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
    worksheet = any("Identifier" in row for row, _score in scored)  # Moodle's own ids came in: write them back
    writer.writerow((["Identifier"] if worksheet else []) + ["Email address", "ID number", assignment])
    for row, score in scored:
        writer.writerow(([row.get("Identifier", "")] if worksheet else []) +
                        [_column(row, "Email address", "email"), _column(row, "ID number", "student id", "ID"),
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
    joined = options.roster.join([str(r.get("submission", "")) for r in results],
                                 {str(r.get("submission", "")): people(r) for r in results})
    scores = {str(r.get("submission", "")): float(r.get("score", 0)) for r in results}
    files = {}
    out = io.StringIO()
    writer = csv.DictWriter(out, options.roster.columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(joined.missing)
    files["missing.csv"] = out.getvalue()
    files["unmatched.csv"] = "folder\n" + "".join(f"{_safe(name)}\n" for name in joined.unmatched)
    missing_score = 0.0 if options.zero_missing else None
    scored = [(row, scores[folder]) for folder, row in joined.rows()] + [(row, missing_score) for row in joined.missing]
    for export in options.exports:
        files[f"{export}.csv"] = EXPORTS[export](scored, options.assignment)
    return joined, files


def people(result: dict) -> list[dict]:
    """The students a results contract credits: a group's members, else its student (none for a plain folder)."""
    if result.get("members"):
        return list(result["members"])
    student = result.get("student") or {}
    return [student] if any(student.values()) else []


def _safe(name: str) -> str:
    """A folder name as one CSV cell (quoted when needed, never a spreadsheet formula)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(["'" + name if name[:1] in "=+-@" else name])
    return out.getvalue()
