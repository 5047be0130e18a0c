"""Moodle "Download all submissions".

Folders `Full Name_123456_assignsubmission_file_/` (Moodle 3.x; no trailing `_` in 4.x), online text
in `..._assignsubmission_onlinetext_/onlinetext.html`; with "in folders" off, flat files
`Full Name_123456_assignsubmission_file_<name>`; team submissions as `<group>_<id>_...`. The number
is the participant number, not the user id: the grading worksheet CSV (`Identifier` "Participant
123456", `Email address`, `Last modified (submission)`) maps it, given with `--roster` or found
beside the download.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path

from grader.i18n import _, tr
from grader.intake import Evidence, Handin, Intake, IntakeOptions, Student, aware, files_under, is_junk, slug

SYSTEM = "moodle"
ENTRY = re.compile(r"^(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)(?:_(?P<rest>.*))?$")
IDENTIFIER = "Identifier"
MODIFIED = "Last modified (submission)"
TIME_FORMATS = ("%A, %d %B %Y, %I:%M %p", "%A, %d %B %Y, %H:%M", "%d %B %Y, %I:%M %p", "%d %B %Y, %H:%M",
                "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


def detect(names: list[str]) -> Evidence | None:
    """Strong when most top-level entries carry `_<number>_assignsubmission_`."""
    tops = {n.split("/", 1)[0] for n in names if not is_junk(n)}
    fitting = [t for t in tops if ENTRY.match(t)]
    if not fitting:
        return None
    return Evidence(SYSTEM, len(fitting) >= 0.6 * len(tops),
                    tr("{count} of {total} entries named <name>_<participant>_assignsubmission_<plugin>",
                       count=len(fitting), total=len(tops)))


def participant(identifier: str) -> str:
    """`Participant 123456` -> `123456` (the worksheet's Identifier as the folder names carry it)."""
    match = re.search(r"(\d+)\s*$", identifier or "")
    return match.group(1) if match else (identifier or "").strip()


def is_worksheet(path: Path) -> bool:
    """A CSV whose header names the worksheet's Identifier column."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            return IDENTIFIER in next(csv.reader(stream), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False


def read_worksheet(path: Path) -> dict[str, dict[str, str]]:
    """Participant number -> the worksheet's row."""
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    return {participant(row.get(IDENTIFIER) or ""): row for row in rows if row.get(IDENTIFIER)}


def parse_time(text: str, options: IntakeOptions) -> datetime | None:
    """The worksheet's `Last modified (submission)` in the course's zone ('-' or empty: none)."""
    text = (text or "").strip()
    for form in TIME_FORMATS:
        try:
            return aware(datetime.strptime(text, form), options.zone)
        except ValueError:
            continue
    return None


def read(root: Path, scratch: Path, options: IntakeOptions) -> Intake:
    """One hand-in per participant number; with the worksheet, names, emails, times and team members."""
    entries: dict[str, dict] = {}
    intake = Intake(SYSTEM, [])
    for path in files_under(root):
        intake.files += 1
        relative = path.relative_to(root).as_posix()
        top, _sep, inner = relative.partition("/")
        match = ENTRY.match(top)
        if match is None:
            if not is_junk(relative):
                intake.notes.append(tr("{name}: not named as a Moodle submission; left out", name=relative))
            continue
        name = inner if inner else (match["rest"] or path.name)
        if match["plugin"] != "file":
            name = f"{match['plugin']}/{name}"
        entry = entries.setdefault(match["id"], {"name": match["name"], "sources": []})
        entry["sources"].append((path, name))
    sheet = read_worksheet(options.worksheet) if options.worksheet else {}
    if not sheet:
        intake.notes.append(_("no grading worksheet: names from the folders, no submission times "
                              "(give it with --roster worksheet.csv or put it beside the download)"))
    for number, entry in sorted(entries.items()):
        row = sheet.get(number, {})
        student = Student(id=number, name=row.get("Full name") or entry["name"], email=row.get("Email address") or None)
        members = [Student(id=participant(r[IDENTIFIER]), name=r.get("Full name"), email=r.get("Email address") or None)
                   for r in sheet.values() if r.get("Group") and r.get("Group") == entry["name"]]
        when = parse_time(row.get(MODIFIED, ""), options) if row else None
        intake.handins.append(Handin(
            key=slug(f"{entry['name']}_{number}"), student=student, members=members if len(members) > 1 else [],
            submitted_at=when, time_source="moodle worksheet" if when else "moodle (no worksheet time)",
            sources=entry["sources"], system=SYSTEM))
        if options.worksheet and not row:
            intake.notes.append(tr("participant {number} is not in the worksheet", number=number))
    return intake
