"""Recording review decisions: checked first, appended in one transaction, then the reports rendered
again; and the decisions as a CSV file a team can edit in a spreadsheet and import back.

A lock on the reports folder around each record-and-render keeps two reviewers (two browsers, or a browser and the
command line) from overwriting each other's rendered reports with an older view: the gradebook
keeps every decision either way.
"""

from __future__ import annotations

import csv
import fcntl
import getpass
import io
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from grader import overrides
from grader.config import Config
from grader.gradebook import Decision, Gradebook
from grader.i18n import tr
from grader.report import reviewed
from grader.roster import RosterError
from grader.report.exports import spreadsheet_cell

COLUMNS = ("kind", "submission", "check", "other", "score", "undo", "comment", "note", "by", "at", "fingerprint")


def reviewer(name: str | None = None) -> str:
    """Who decides: `--by`, else the login name."""
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold the reports folder itself (flock on its descriptor: no lock file is left behind)."""
    descriptor = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def record(gradebook: Gradebook, out: Path, requests: list[overrides.Request], config: Config) -> list[Decision]:
    """Check every request, store them all (or none: OverrideError), then render the reports of the
    hand-ins they touch and the class-wide files again. Returns what was stored."""
    with _locked(out):
        try:
            reviewed.stored_roster(gradebook)  # the exports must render again: refuse before writing if not
        except RosterError as error:
            message = tr("cannot render the LMS exports again ({error}): restore the roster, or run dlgrade batch "
                         "with the roster where it is now", error=error)
            raise overrides.OverrideError(message) from None
        results = {entry.name: entry.result for entry in gradebook.entries()}
        inputs = {name: gradebook.inputs(name) for name in results}
        now = time.time()
        decisions = [overrides.validate(request, results, inputs, config, now) for request in requests]
        known = {_identity(d) for d in gradebook.decisions()}
        fresh = [d for d in decisions if _identity(d) not in known]  # an import read twice adds nothing
        if fresh:
            gradebook.add_decisions(fresh)
            touched = sorted({n for d in fresh for n in ((d.name, d.subject) if d.kind == "pair" else (d.name,))})
            reviewed.render(gradebook, out, submissions=[n for n in touched if n in reviewed.folders_of(gradebook)])
    return fresh


def _identity(decision: Decision) -> tuple:
    """What makes two entries the same decision (ids and float noise in the time aside)."""
    return (decision.kind, decision.name, decision.subject, decision.score, decision.undo, decision.comment,
            decision.note, decision.by, round(decision.at, 3), decision.fingerprint)


def export_csv(decisions: list[Decision]) -> str:
    """Every decision ever made, oldest first, one row each (the full history, undos included)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for d in decisions:
        writer.writerow([d.kind, spreadsheet_cell(d.name), d.subject if d.kind == "check" else "",
                         spreadsheet_cell(d.subject) if d.kind == "pair" else "",
                         "" if d.score is None else f"{d.score:g}", "yes" if d.undo else "no",
                         spreadsheet_cell(d.comment), spreadsheet_cell(d.note), spreadsheet_cell(d.by),
                         overrides.stamp(d.at), d.fingerprint])
    return out.getvalue()


def _uncell(text: str) -> str:
    """What `spreadsheet_cell` protected from the spreadsheet, back as it was."""
    return text[1:] if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@", "\t", "\r") else text


def _score(text: str, row: int) -> float | None:
    """A CSV cell's score (empty: none)."""
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise overrides.OverrideError(tr("row {row}: score {text!r} is not a number", row=row, text=text)) from None


def _time(text: str, row: int) -> float | None:
    """A CSV cell's ISO 8601 time as unix time (empty: none, that is now; no zone: UTC)."""
    if not text.strip():
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise overrides.OverrideError(tr("row {row}: at {text!r} is not an ISO 8601 time", row=row,
                                         text=text)) from None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def parse_csv(text: str, by: str) -> list[overrides.Request]:
    """The requests of an exported (and edited) CSV; OverrideError naming the first malformed row.
    An empty `by` or `at` is the importer and now; an empty fingerprint, the current work's."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS[:6] if c not in (reader.fieldnames or [])]
    if missing:
        raise overrides.OverrideError(tr("the CSV lacks the column(s) {missing}; expected: {columns}",
                                         missing=", ".join(missing), columns=",".join(COLUMNS)))
    requests = []
    for number, row in enumerate(reader, start=2):
        if None in row or any(value is None for value in row.values()):
            raise overrides.OverrideError(tr("row {row}: expected {count} cells", row=number,
                                             count=len(reader.fieldnames)))
        kind = row["kind"].strip()
        undo = row["undo"].strip().lower()
        if undo not in ("yes", "no", ""):
            raise overrides.OverrideError(tr("row {row}: undo must be yes or no; got {text!r}", row=number,
                                             text=row["undo"]))
        score = _score(row["score"], number)
        if kind in ("check", "handin") and score is None and undo != "yes":
            raise overrides.OverrideError(tr("row {row}: a score is needed (or undo = yes)", row=number))
        subject = row["check"].strip() if kind == "check" else _uncell(row["other"].strip()) if kind == "pair" else ""
        requests.append(overrides.Request(kind, _uncell(row["submission"].strip()), subject, score,
                                          _uncell(row.get("comment") or ""), _uncell(row.get("note") or ""),
                                          _uncell(row.get("by") or "").strip() or by,
                                          _time(row.get("at") or "", number),
                                          (row.get("fingerprint") or "").strip(), undo == "yes"))
    return requests


def validate_rows(requests: list[overrides.Request], gradebook: Gradebook, config: Config) -> None:
    """OverrideError naming the row of the first request that cannot be recorded (nothing is written)."""
    results = {entry.name: entry.result for entry in gradebook.entries()}
    inputs = {name: gradebook.inputs(name) for name in results}
    for number, request in enumerate(requests, start=2):
        try:
            overrides.validate(request, results, inputs, config, time.time())
        except overrides.OverrideError as error:
            raise overrides.OverrideError(tr("row {row}: {error}", row=number, error=error)) from None
