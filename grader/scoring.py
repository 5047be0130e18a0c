"""Score: the course's points, hidden checks and late penalty applied to a judged hand-in."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from grader.config import Config
from grader.discover import find_sources
from grader.i18n import N_, _
from grader.results import SubmissionResult

HIDDEN_MESSAGE = N_("hidden check: what it tests is shown after grading")
SUBMITTED_AT_FILE = ".submitted_at"  # optional, in a hand-in folder: an ISO 8601 time (e.g. from the LMS export)


def submission_time(handin: Path) -> datetime | None:
    """When a hand-in was submitted: its `.submitted_at` file if any, else its newest graded file's mtime."""
    folder = handin if handin.is_dir() else handin.parent
    stamp = folder / SUBMITTED_AT_FILE
    if stamp.is_file():
        try:
            when = datetime.fromisoformat(stamp.read_text(encoding="utf-8").strip())
            return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        except (OSError, ValueError):
            pass
    times = [os.stat(source).st_mtime for source in find_sources(handin)]
    return datetime.fromtimestamp(max(times), timezone.utc) if times else None


def apply(result: SubmissionResult, config: Config, submitted_at: datetime | None = None) -> SubmissionResult:
    """Set each check's points and hidden flag from `config`, and the late penalty if any."""
    for check in result.checks:
        check.max_score = config.points.get(check.id, check.max_score)
        check.hidden = check.id in config.hidden
    result.late = late_record(config, submitted_at)
    return result


def late_record(config: Config, submitted_at: datetime | None, marked_late: bool = False) -> dict | None:
    """The `late` entry of a hand-in submitted at `submitted_at` (None: on time, or no due date). A hand-in
    the system marked late without a time (Canvas LATE) is late by an unknown number of days
    (`days_late` null) and loses the course's penalty for one day."""
    if config.late.due is None:
        return None
    if submitted_at is None:
        if not marked_late:
            return None
        penalty = min(config.late.max_penalty, config.late.penalty_per_day)
        return {"submitted_at": None, "due": config.late.due.isoformat(), "days_late": None,
                "penalty": round(penalty, 6), "marked_late": True}
    days, penalty = config.late.penalty(submitted_at)
    if not days:
        return None
    return {"submitted_at": submitted_at.isoformat(), "due": config.late.due.isoformat(), "days_late": days,
            "penalty": round(penalty, 6)}


def retime(document: dict, config: Config, submitted_at: datetime | None, marked_late: bool = False) -> dict:
    """The results contract with its late penalty computed again from a time the intake knows
    (the system's metadata or --submitted-at) instead of the hand-in folder's own."""
    raw = float(document.get("raw_score", document.get("score", 0)))
    document.pop("raw_score", None)
    document.pop("late", None)
    late = late_record(config, submitted_at, marked_late)
    if late:
        document.update(raw_score=raw, late=late, score=round(raw * (1 - late["penalty"]), 6))
    else:
        document["score"] = raw
    return document


def redact_hidden(document: dict) -> dict:
    """The results contract as a student may see it before grading: hidden checks keep their id,
    points and pass/fail, but not their message, hint or details."""
    redacted = dict(document, checks=[])
    for check in document["checks"]:
        if check.get("hidden"):
            check = {k: v for k, v in check.items() if k != "details"}
            check.update(message=_(HIDDEN_MESSAGE), hint=None)
        redacted["checks"].append(check)
    return redacted
