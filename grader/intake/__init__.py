"""Intake: the stage before discovery that turns what an LMS or GitHub Classroom hands over into hand-ins.

Each system has one small adapter module (canvas, moodle, blackboard, gradescope, brightspace, classroom,
folders) with `detect(path) -> Evidence | None` and `read(path, scratch, options) -> Intake`. An adapter
says who handed in (`Student`), when (from the system's metadata, never a file's mtime), which files
and what it left out; `stage.materialise` copies each hand-in's files into `scratch/<key>/`, unpacking
the student's archives there. Batch, reports, exports and review read hand-ins, never an export format.
`archives` unpacks students' zip, tar, 7z and rar files under caps; `git` exports a clone's graded
commit without running anything of the student's.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path

from grader.i18n import N_, _, ntr

FOLDERS = "folders"
SYSTEMS = ("canvas", "moodle", "blackboard", "gradescope", "brightspace", "folders", "git")
LABELS = {"canvas": N_("Canvas download"), "moodle": N_("Moodle download"), "blackboard": N_("Blackboard download"),
          "gradescope": N_("Gradescope export"), "brightspace": N_("Brightspace download"),
          "folders": N_("Folder of student folders"), "git": N_("GitHub Classroom clones")}
JUNK = re.compile(r"(^|/)(__MACOSX/|\._|\.DS_Store$|Thumbs\.db$|desktop\.ini$|\.ipynb_checkpoints/)", re.IGNORECASE)


class IntakeError(Exception):
    """The download cannot be read as one system (ambiguous, unrecognised, or unreadable): exit 2."""


@dataclass(frozen=True)
class Student:
    """Who handed in, as the system names them; None where the system gives nothing."""

    id: str | None = None
    name: str | None = None
    email: str | None = None
    login: str | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "email": self.email, "login": self.login}

    def label(self) -> str:
        """How reports name the student: the name, else login, email or id."""
        return self.name or self.login or self.email or self.id or ""


@dataclass(frozen=True)
class Evidence:
    """Why a download looks like one system: `strong` ones decide; a weak one only when nothing else fits."""

    system: str
    strong: bool
    reason: str


@dataclass
class Handin:
    """One hand-in to grade: its files (under `folder`), the student or group, and when."""

    key: str  # stable slug: the gradebook name and the report folder
    student: Student
    members: list[Student] = field(default_factory=list)  # a group: everyone credited (the student first)
    submitted_at: datetime | None = None
    late_marker: bool = False  # the system marked it late without giving a time (Canvas LATE)
    time_source: str = ""  # where the time came from; "" for today's folders (.submitted_at, else mtime)
    sources: list[tuple[Path, str]] = field(default_factory=list)  # (file in the download, name in the hand-in)
    folder: Path | None = None  # the files to grade (set by materialise, or by the adapter)
    files: list[str] = field(default_factory=list)
    archives: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # "name: reason"
    attempts: list[dict] = field(default_factory=list)  # superseded attempts and re-uploads
    commit: object | None = None  # grader.intake.git.GradedCommit for git hand-ins
    error: str | None = None  # why the hand-in could not be read (a refused archive): it fails to load
    system: str = FOLDERS

    @property
    def plain(self) -> bool:
        """Today's student folder, graded in place with today's timing."""
        return self.system == FOLDERS and not self.time_source

    def record(self) -> dict:
        """What results.json keeps of the intake (`intake` key)."""
        data = {"system": self.system, "files": self.files, "archives": self.archives}
        if self.left_out:
            data["left_out"] = self.left_out
        if self.time_source:
            data |= {"submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
                     "time_source": self.time_source, "late_marker": self.late_marker}
        if self.attempts:
            data["attempts"] = self.attempts
        if self.commit is not None:
            commit = self.commit
            data["commit"] = {"sha": commit.sha, "committed_at": commit.committed_at.isoformat(),
                              "subject": commit.subject, "all_commits": commit.all_commits,
                              "note": _("commit times are set by the student")}
        return data

    def fingerprint(self) -> str:
        """Identity, time and intake problems: a change re-grades the hand-in like a changed file."""
        data = [self.student.to_dict(), [m.to_dict() for m in self.members], self.record(), self.error]
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class IntakeOptions:
    """What an adapter may need besides the download."""

    zone: tzinfo | None = None  # for systems that write local times: the course's ([late] due), else UTC
    worksheet: Path | None = None  # Moodle's grading worksheet (names, emails, submission times)
    deadline: datetime | None = None  # git: grade the last commit at or before this time
    prefix: str = ""  # GitHub Classroom: the repository prefix before the login
    exclude: tuple[Path, ...] = ()  # folders that are not hand-ins (the output folder)
    limits: object | None = None  # the archive caps (grader.intake.archives.ArchiveLimits); None: the defaults


@dataclass
class Intake:
    """Every hand-in of one download, and what was noticed reading it."""

    system: str
    handins: list[Handin]
    notes: list[str] = field(default_factory=list)
    files: int = 0  # files in the download
    unpacked: int = 0  # students' archives unpacked
    reuploads: int = 0  # re-uploads where the latest was kept

    def summary(self) -> str:
        """One line said before grading, e.g. `Canvas download: 312 files, 120 students, 7 marked late, ...`."""
        people = sum(max(1, len(h.members)) for h in self.handins)
        groups = sum(len(h.members) > 1 for h in self.handins)
        late = sum(h.late_marker for h in self.handins)
        older = sum(len(h.attempts) for h in self.handins) - self.reuploads
        failed = sum(h.error is not None for h in self.handins)
        parts = [ntr("{count} file", "{count} files", self.files), ntr("{count} student", "{count} students", people),
                 groups and ntr("{count} group hand-in", "{count} group hand-ins", groups),
                 late and ntr("{count} marked late", "{count} marked late", late),
                 self.unpacked and ntr("{count} archive unpacked", "{count} archives unpacked", self.unpacked),
                 self.reuploads and ntr("{count} re-upload kept as the latest", "{count} re-uploads kept as the latest",
                                        self.reuploads),
                 older > 0 and ntr("{count} earlier attempt listed, not graded",
                                   "{count} earlier attempts listed, not graded", older),
                 failed and ntr("{count} could not be read", "{count} could not be read", failed)]
        return f"{_(LABELS[self.system])}: " + ", ".join(p for p in parts if p)


def slug(text: str) -> str:
    """A key safe as a folder name and stable across runs."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[^\w.-]+", "_", text).strip("._")[:80] or "hand-in"


def unique_keys(handins: list[Handin]) -> None:
    """Make keys unique (case-insensitively) in place, in a stable order."""
    taken: dict[str, int] = {}
    for handin in sorted(handins, key=lambda h: h.key):
        count = taken.get(handin.key.lower(), 0)
        taken[handin.key.lower()] = count + 1
        if count:
            handin.key = f"{handin.key}-{count + 1}"


def is_junk(name: str) -> bool:
    """macOS resource forks, Finder and Explorer files, notebook checkpoints: never a student's work."""
    return bool(JUNK.search(name.replace("\\", "/")))


def aware(when: datetime, zone: tzinfo | None = None) -> datetime:
    """A time with a zone: `zone` (the course's) for a system that writes local times, else UTC."""
    return when if when.tzinfo else when.replace(tzinfo=zone or timezone.utc)


def files_under(folder: Path) -> list[Path]:
    """Every regular file under `folder` (symlinks not followed), in name order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
