"""The students an intake names, written as the roster the system's own gradebook would be.

With `--export canvas|moodle` and no `--roster`, the batch joins hand-ins to this file
(`--out/intake/students.csv`), so the export carries back the very ids that came in: a Canvas
download graded and exported imports into the same Canvas gradebook.
"""

from __future__ import annotations

import csv
import io

from grader.intake import Intake, Student

FILE = "students.csv"


def _columns(system: str, people: list[Student]) -> list[tuple[str, str | None]]:
    """(roster column, Student field or None for an empty cell) per system, key column included."""
    if system == "canvas":
        return [("Student", "name"), ("ID", "id"), ("SIS User ID", None), ("SIS Login ID", None), ("Section", None)]
    if system == "moodle":
        return [("Identifier", "id"), ("Full name", "name"), ("Email address", "email")]
    if system == "gradescope":
        key = [("sid", "id")] if all(p.id for p in people) else []
        return key + [("name", "name"), ("email", "email")]
    if system == "git":
        return [("github_username", "login"), ("name", "name")]
    if system == "blackboard":
        return [("username", "login"), ("name", "name")]
    return [("name", "name"), ("id", "id"), ("email", "email"), ("login", "login")]


def students_csv(intake: Intake) -> str:
    """One row per student credited with a hand-in (a group's members each), in the system's columns."""
    people = [p for h in intake.handins for p in (h.members or [h.student])]
    columns = _columns(intake.system, people)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c for c, _f in columns])
    seen = set()
    for person in people:
        cells = ["" if f is None else (getattr(person, f) or "") for _c, f in columns]
        if intake.system == "moodle" and person.id:
            cells[0] = f"Participant {person.id}"
        if tuple(cells) not in seen:
            seen.add(tuple(cells))
            writer.writerow(cells)
    return out.getvalue()
