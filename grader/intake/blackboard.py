"""Blackboard "Download Assignment": `<Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<original name>`,
plus one `.txt` receipt per attempt (`Name: First Last (username)`, `Date Submitted: ...`, and the
`Original filename:` / `Filename:` pairs). Several attempts may arrive: the latest counts, the
others are listed. Times are the server's local time, read in the course's zone.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from grader.i18n import tr
from grader.intake import Evidence, Handin, Intake, IntakeOptions, Student, aware, files_under, is_junk, slug

SYSTEM = "blackboard"
NAME = re.compile(r"^(?P<assignment>.+)_(?P<user>[^_/]+)_attempt_(?P<stamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)"
                  r"(?:_(?P<file>.+)|(?P<receipt>\.txt))$")
RECEIPT_NAME = re.compile(r"^Name:\s*(?P<name>.*?)\s*\((?P<user>[^()]+)\)\s*$", re.MULTILINE)
PAIR = re.compile(r"Original filename:\s*(?P<original>.+?)\s*\n\s*Filename:\s*(?P<stored>.+?)\s*$", re.MULTILINE)


def detect(names: list[str]) -> Evidence | None:
    """Strong when most files lie flat at the top, named `..._<username>_attempt_<time>...`."""
    flat = [n for n in names if not is_junk(n)]
    fitting = [n for n in flat if "/" not in n and NAME.match(n)]
    if not fitting:
        return None
    return Evidence(SYSTEM, len(fitting) >= 0.6 * len(flat),
                    tr("{count} of {total} files named <assignment>_<username>_attempt_<time>", count=len(fitting),
                       total=len(flat)))


def _receipt(path: Path) -> tuple[str | None, dict[str, str]]:
    """(the student's name, stored file name -> original name) from an attempt's `.txt`."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None, {}
    name = RECEIPT_NAME.search(text)
    return (name["name"] if name else None), {m["stored"]: m["original"] for m in PAIR.finditer(text)}


def read(root: Path, scratch: Path, options: IntakeOptions) -> Intake:
    """One hand-in per username: the files of the latest attempt, under their original names."""
    attempts: dict[str, dict[str, dict]] = {}
    intake = Intake(SYSTEM, [])
    for path in files_under(root):
        intake.files += 1
        match = NAME.match(path.name)
        if match is None:
            if not is_junk(path.name):
                intake.notes.append(tr("{name}: not named as a Blackboard attempt; left out",
                                       name=path.relative_to(root).as_posix()))
            continue
        attempt = attempts.setdefault(match["user"], {}).setdefault(match["stamp"], {"files": [], "receipt": None})
        if match["receipt"]:
            attempt["receipt"] = path
        else:
            attempt["files"].append((path, match["file"]))
    for user, by_stamp in sorted(attempts.items()):
        stamps = sorted(by_stamp)
        latest = by_stamp[stamps[-1]]
        name, originals = _receipt(latest["receipt"]) if latest["receipt"] else (None, {})
        when = aware(datetime.strptime(stamps[-1], "%Y-%m-%d-%H-%M-%S"), options.zone)
        handin = Handin(key=slug(user), student=Student(id=user, name=name, login=user), submitted_at=when,
                        time_source="blackboard attempt", system=SYSTEM,
                        sources=[(path, originals.get(path.name, file)) for path, file in latest["files"]])
        if latest["receipt"] is None:
            handin.left_out.append(tr("no receipt (.txt) for the attempt of {stamp}: no name", stamp=stamps[-1]))
        handin.attempts = [{"attempt": stamp, "files": [f for _, f in by_stamp[stamp]["files"]],
                            "reason": tr("an earlier attempt; the latest ({stamp}) counts", stamp=stamps[-1])}
                           for stamp in stamps[:-1]]
        intake.handins.append(handin)
    return intake
