"""`--submitted-at FILE.csv`: submission times given by the instructor (student id, ISO 8601 time), which
override whatever the system said. Rows match a hand-in by any id it carries, or by its name."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from grader.i18n import tr
from grader.intake import Intake, IntakeError, aware

SOURCE = "--submitted-at"


def read_times(path: Path) -> dict[str, datetime]:
    """Lower-cased id -> time; a header row (a second cell that is no time) is skipped."""
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise IntakeError(tr("cannot read {path}: {error}", path=path, error=error)) from None
    times = {}
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0].strip():
            continue
        try:
            when = datetime.fromisoformat(row[1].strip())
        except ValueError:
            if number == 1:
                continue
            raise IntakeError(tr("{path}, line {number}: {text!r} is not an ISO 8601 time", path=path, number=number,
                                 text=row[1])) from None
        times[row[0].strip().lower()] = aware(when)
    return times


def apply_times(intake: Intake, path: Path) -> None:
    """Set the time of every hand-in the file names; ids that match nobody are noted."""
    times = read_times(path)
    used = set()
    for handin in intake.handins:
        names = [handin.key] + [getattr(p, f) for p in (handin.members or [handin.student])
                                for f in ("id", "login", "email", "name")]
        found = next((n.lower() for n in names if n and n.lower() in times), None)
        if found is not None:
            used.add(found)
            handin.submitted_at, handin.late_marker, handin.time_source = times[found], False, SOURCE
    intake.notes += [tr("{path}: {id} matches no hand-in", path=path.name, id=name)
                     for name in sorted(set(times) - used)]
