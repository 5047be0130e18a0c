"""Canvas "Download Submissions": one flat zip, one file per upload.

Names are `name[_LATE|_late]_<user id>_<attachment id>_<file name>` (`anon_<id>` under anonymous
grading). The user id is the `ID` column of Canvas's gradebook CSV; there is no time, only the LATE
marker. A re-upload of the same file name arrives as `hw1-1.ipynb`: the latest is kept under the
original name and the others are listed as attempts.
"""

from __future__ import annotations

import re
from pathlib import Path

from grader.i18n import tr
from grader.intake import Evidence, Handin, Intake, IntakeOptions, Student, is_junk, slug

SYSTEM = "canvas"
NAMED = re.compile(r"^(?P<name>[^/]+?)(?P<late>_late|_LATE)?_(?P<id>\d+)_(?P<attachment>\d+)_(?P<file>.+)$")
ANONYMOUS = re.compile(r"^anon(?P<late>_late|_LATE)?_(?P<id>[A-Za-z0-9]+?)(?P<late2>_late|_LATE)?_"
                       r"(?P<attachment>\d+)_(?P<file>.+)$")
REUPLOAD = re.compile(r"^(?P<stem>.+)-(?P<number>\d+)(?P<suffix>\.[^.]+)?$")


def parse(name: str) -> dict | None:
    """The parts of a Canvas upload's name, or None when it is not one."""
    match = ANONYMOUS.match(name)
    if match:
        return {"name": None, "id": match["id"], "late": bool(match["late"] or match["late2"]),
                "attachment": int(match["attachment"]), "file": match["file"], "anonymous": True}
    match = NAMED.match(name)
    if match:
        return {"name": match["name"], "id": match["id"], "late": bool(match["late"]),
                "attachment": int(match["attachment"]), "file": match["file"], "anonymous": False}
    return None


def detect(names: list[str]) -> Evidence | None:
    """Strong when most files lie flat at the top and are named as Canvas names uploads."""
    flat = [n for n in names if "/" not in n and not is_junk(n)]
    fitting = [n for n in flat if parse(n)]
    if not fitting:
        return None
    strong = len(fitting) >= 0.6 * len(flat) and len(flat) >= 0.6 * len([n for n in names if not is_junk(n)])
    return Evidence(SYSTEM, strong, tr("{count} of {total} files named name_<user id>_<attachment id>_<file>",
                                       count=len(fitting), total=len(flat)))


def _original(file: str) -> tuple[str, int]:
    """The file name before Canvas numbered a re-upload (`hw1-1.ipynb` -> `hw1.ipynb`, 1)."""
    match = REUPLOAD.match(file)
    if match:
        return match["stem"] + (match["suffix"] or ""), int(match["number"])
    return file, 0


def read(root: Path, scratch: Path, options: IntakeOptions) -> Intake:
    """One hand-in per Canvas user; files that are not Canvas uploads are left out, and said so."""
    by_id: dict[str, list[tuple[Path, dict]]] = {}
    notes, files = [], 0
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        files += 1
        relative = path.relative_to(root).as_posix()
        parts = parse(path.name) if "/" not in relative else None
        if parts is None:
            if not is_junk(relative):
                notes.append(tr("{name}: not named as a Canvas upload; left out", name=relative))
            continue
        by_id.setdefault(parts["id"], []).append((path, parts))
    intake = Intake(SYSTEM, [], notes, files=files)
    for user, uploads in sorted(by_id.items()):
        first = uploads[0][1]
        student = Student(id=user, name=first["name"]) if not first["anonymous"] else Student(id=f"anon_{user}")
        late = any(parts["late"] for _path, parts in uploads)
        handin = Handin(key=slug(f"{first['name']}_{user}" if first["name"] else f"anon_{user}"), student=student,
                        system=SYSTEM, late_marker=late, time_source="canvas LATE marker" if late else "canvas")
        handin.sources, superseded = _latest_uploads(uploads)
        handin.attempts = superseded
        intake.reuploads += len(superseded)
        intake.handins.append(handin)
    return intake


def _latest_uploads(uploads: list[tuple[Path, dict]]) -> tuple[list[tuple[Path, str]], list[dict]]:
    """Of uploads that share an original name, the newest (highest attachment id) under that name;
    the others as attempts, each saying which file replaced it."""
    groups: dict[str, list[tuple[int, int, Path, str]]] = {}
    for path, parts in uploads:
        original, number = _original(parts["file"])
        groups.setdefault(original, []).append((parts["attachment"], number, path, parts["file"]))
    for original in list(groups):  # `part-1.py` alone is a file of its own, not a re-upload
        if len(groups[original]) == 1 and groups[original][0][1]:
            _, _, path, file = groups.pop(original)[0]
            groups[file] = [(0, 0, path, file)]
    kept, superseded = [], []
    for original, members in sorted(groups.items()):
        members.sort()
        latest = members[-1]
        kept.append((latest[2], original))
        superseded += [{"file": file, "attachment": attachment, "reason": tr(
            "re-uploaded: {file} kept as the latest", file=latest[3])} for attachment, _, _, file in members[:-1]]
    return kept, superseded
