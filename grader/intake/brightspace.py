"""Brightspace (D2L) "Download": `<n>-<n> - First Last - Oct 10, 2025 1022 AM/<file>` folders (or files
named `... - Oct 10, 2025 1022 AM - <file>`) plus `index.html`. The name and the time, to the minute,
are all it gives: hand-ins are grouped by the name (said in the notes), and of several
submissions by one name the latest counts.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from grader.i18n import _, tr
from grader.intake import Evidence, Handin, Intake, IntakeOptions, Student, aware, files_under, is_junk, slug

SYSTEM = "brightspace"
ENTRY = re.compile(r"^(?P<ids>\d+-\d+) - (?P<name>.+?) - (?P<month>[A-Z][a-z]{2}) (?P<day>\d{1,2}), (?P<year>\d{4}) "
                   r"(?P<hm>\d{3,4}) (?P<half>[AP]M)(?: - (?P<file>.+))?$")
INDEX = "index.html"


def detect(names: list[str]) -> Evidence | None:
    """Strong when most entries carry `<n>-<n> - Name - <date>`."""
    tops = {n.split("/", 1)[0] for n in names if not is_junk(n) and n != INDEX}
    fitting = [t for t in tops if ENTRY.match(t)]
    if not fitting:
        return None
    return Evidence(SYSTEM, len(fitting) >= 0.6 * len(tops),
                    tr("{count} of {total} entries named <n>-<n> - Name - <date>{index}", count=len(fitting),
                       total=len(tops), index=" + index.html" if INDEX in names else ""))


def parse_time(match: re.Match, options: IntakeOptions) -> datetime:
    """`Oct 10, 2025 1022 AM` to the minute (the last two digits are the minutes), in the course's zone."""
    hours, minutes = int(match["hm"][:-2]), int(match["hm"][-2:])
    hours = hours % 12 + (12 if match["half"] == "PM" else 0)
    day = datetime.strptime(f"{match['month']} {match['day']} {match['year']}", "%b %d %Y")
    return aware(day.replace(hour=hours, minute=minutes), options.zone)


def read(root: Path, scratch: Path, options: IntakeOptions) -> Intake:
    """One hand-in per name: the latest submission's files."""
    by_name: dict[str, dict[datetime, list[tuple[Path, str]]]] = {}
    intake = Intake(SYSTEM, [], [_("Brightspace gives only names: hand-ins are grouped by the student's name")])
    for path in files_under(root):
        intake.files += 1
        relative = path.relative_to(root).as_posix()
        top, _sep, inner = relative.partition("/")
        match = ENTRY.match(top)
        if match is None or not (inner or match["file"]):
            if not is_junk(relative) and relative != INDEX:
                intake.notes.append(tr("{name}: not named as a Brightspace submission; left out", name=relative))
            continue
        when = parse_time(match, options)
        by_name.setdefault(match["name"], {}).setdefault(when, []).append((path, inner or match["file"]))
    for name, submissions in sorted(by_name.items()):
        times = sorted(submissions)
        handin = Handin(key=slug(name), student=Student(name=name), submitted_at=times[-1],
                        time_source="brightspace folder", sources=submissions[times[-1]], system=SYSTEM)
        handin.attempts = [{"submitted_at": t.isoformat(), "files": [file for _path, file in submissions[t]],
                            "reason": _("an earlier submission; the latest counts")} for t in times[:-1]]
        intake.handins.append(handin)
    return intake
