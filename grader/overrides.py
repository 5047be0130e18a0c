"""Review decisions applied to results: a person's score for a check, or an adjustment of a hand-in's
total, kept beside the automated score, and dropped (stale) once the student's work under it changes.

The gradebook stores the automated results unchanged and every decision append-only (grader/gradebook.py);
this module only computes. Each decision carries a fingerprint of what it was made on: for a check, the
student's graded code of its target (and, for the Part 4 report, every place the report may be); for a
hand-in or a pair, the hand-in's graded files. A decision applies while its fingerprint equals the one of
the latest grade, so re-grading unchanged work (`--force`, a new dlgrade) keeps it and a resubmission
does not.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from grader.config import Config
from grader.discover import DEFAULT_MAX_FILE_BYTES, REPORT_SUFFIXES, discover, find_sources, read_source
from grader.gradebook import Decision
from grader.i18n import tr

HANDIN = ""  # the subject of a hand-in-level decision
READS_REPORT = frozenset({"function_fitting.report"})  # checks that read the report as well as the code
EXTRA_CREDIT = {"function_fitting.numpy_bonus": "numpy_bonus"}  # check -> [fitting] key of its extra credit
KINDS = ("check", "handin", "pair")


class OverrideError(ValueError):
    """A decision that cannot be recorded: unknown hand-in or check, a score out of bounds, a bad row."""


def _digest(parts: Iterable[bytes]) -> str:
    """A short hash of `parts`, each length-prefixed so that no two splits of the same bytes collide."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()[:32]


def notebook_markdown(notebook: bytes) -> bytes:
    """The markdown cells of a notebook (what the report check reads of it); the bytes if it is not JSON."""
    try:
        cells = json.loads(notebook).get("cells", [])
        return "\n\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "markdown").encode()
    except (ValueError, AttributeError, TypeError):
        return notebook


def _report_files(handin: Path, max_bytes: int) -> list[bytes]:
    """Every place the Part 4 report may be: text, PDF and Word files, and the notebooks' markdown."""
    parts = []
    root = handin if handin.is_dir() else handin.parent
    for path in discover(handin, max_bytes, REPORT_SUFFIXES).sources + \
            [p for p in find_sources(handin, max_bytes) if p.suffix == ".ipynb"]:
        try:
            data = read_source(path, max_bytes)
        except OSError as error:
            data = f"unreadable: {error}".encode()
        text = notebook_markdown(data) if path.suffix == ".ipynb" else data
        parts += [path.relative_to(root).as_posix().encode(), text]
    return parts


def fingerprints(handin: Path, result: dict, content_hash: str,
                 max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> dict[str, str]:
    """Check id -> fingerprint of what it read (its target's graded code; the report too for the report
    check), and the hand-in's own (`HANDIN` -> its content hash) for hand-in and pair decisions."""
    found = {HANDIN: content_hash}
    report: list[bytes] | None = None
    for check in result.get("checks", []):
        source = (result.get("sources") or {}).get(check["target"]) or {}
        parts = [check["target"].encode(), str(source.get("code", "")).encode()]
        if check["id"] in READS_REPORT:
            report = _report_files(handin, max_bytes) if report is None else report
            parts += report
        found[check["id"]] = _digest(parts)
    return found


def latest(decisions: Iterable[Decision]) -> dict[tuple[str, str, str], Decision]:
    """The decision in force per (kind, hand-in, subject): the newest entry (an undo included)."""
    chosen: dict[tuple[str, str, str], Decision] = {}
    for decision in sorted(decisions, key=lambda d: d.id):
        chosen[decision.key] = decision
    return chosen


def pair_fingerprint(inputs_a: dict[str, str], inputs_b: dict[str, str]) -> str:
    """A pair decision holds while neither hand-in changes."""
    return _digest([inputs_a.get(HANDIN, "").encode(), inputs_b.get(HANDIN, "").encode()])


def is_stale(decision: Decision, inputs: dict[str, str], other_inputs: dict[str, str] | None = None) -> bool:
    """Whether the work a decision was made on has changed since (the latest grade read other inputs)."""
    if decision.kind == "pair":
        return decision.fingerprint != pair_fingerprint(inputs, other_inputs or {})
    return decision.fingerprint != inputs.get(decision.subject if decision.kind == "check" else HANDIN, "")


def upper_bound(check: dict, config: Config) -> float:
    """The most a reviewer may give a check: its maximum, or its extra credit where it has one."""
    extra = EXTRA_CREDIT.get(check["id"])
    ceiling = float(config.fitting.get(extra, 0.0)) if extra else 0.0
    return max(float(check["max_score"]), ceiling)


def stamp(at: float) -> str:
    """When a decision was made, for people, results.json and CSV: ISO 8601, UTC, to the second."""
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds")


def strip(result: dict) -> dict:
    """The automated result back from one with decisions applied (a copy; `dlgrade report` reads either)."""
    plain = copy.deepcopy(result)
    for check in plain.get("checks", []):
        if "override" in check:
            check["score"] = check.pop("auto_score", check["score"])
            del check["override"]
    if "auto_score" in plain:
        plain["score"] = plain.pop("auto_score")
        plain.pop("adjustments", None)
        if "raw_score" in plain:
            plain["raw_score"] = round(sum(float(c["score"]) for c in plain["checks"]), 6)
    return plain


def apply(result: dict, decisions: dict[tuple[str, str, str], Decision], inputs: dict[str, str],
          name: str | None = None) -> dict:
    """`result` (automated or already reviewed) with the fresh decisions in force for hand-in `name`
    (default: its `submission`) applied: each overridden check carries `override` and `auto_score`;
    the total is recomputed, adjustments added and any late penalty taken as before."""
    reviewed = strip(result)
    name = str(reviewed.get("submission", "")) if name is None else name
    changed = False
    for check in reviewed.get("checks", []):
        decision = decisions.get(("check", name, check["id"]))
        if decision is None or decision.undo or decision.score is None or is_stale(decision, inputs):
            continue
        check["auto_score"] = check["score"]
        check["score"] = decision.score
        check["override"] = {"score": decision.score, "by": decision.by, "at": stamp(decision.at),
                             "comment": decision.comment}
        changed = True
    adjustment = decisions.get(("handin", name, HANDIN))
    live = adjustment is not None and not adjustment.undo and adjustment.score is not None \
        and not is_stale(adjustment, inputs)
    if not changed and not live:
        return reviewed
    raw = sum(float(c["score"]) for c in reviewed.get("checks", []))
    if live:
        raw += adjustment.score
        reviewed["adjustments"] = [{"score": adjustment.score, "by": adjustment.by, "at": stamp(adjustment.at),
                                    "comment": adjustment.comment}]
    penalty = reviewed["late"]["penalty"] if reviewed.get("late") else 0.0
    reviewed["auto_score"] = reviewed["score"]
    if "raw_score" in reviewed:
        reviewed["raw_score"] = round(raw, 6)
    reviewed["score"] = round(round(raw, 6) * (1 - penalty), 6)
    return reviewed


@dataclass(frozen=True)
class Request:
    """A decision as asked for (CLI, CSV row or web form), before it is checked and fingerprinted."""

    kind: str
    name: str
    subject: str
    score: float | None
    comment: str = ""
    note: str = ""
    by: str = ""
    at: float | None = None
    fingerprint: str = ""  # empty: the current one (a CSV row exported earlier carries its own)
    undo: bool = False


def validate(request: Request, results: dict[str, dict], inputs: dict[str, dict[str, str]], config: Config,
             now: float) -> Decision:
    """The decision to store for `request`, or OverrideError naming what was expected and what came."""
    if request.kind not in KINDS:
        raise OverrideError(tr("unknown kind {kind!r}; expected one of: {kinds}", kind=request.kind,
                               kinds=", ".join(KINDS)))
    if request.score is not None and not math.isfinite(request.score):
        raise OverrideError(tr("a score must be a finite number; got {score!r}", score=request.score))
    if request.name not in results:
        raise OverrideError(tr("unknown hand-in {name!r}: the gradebook holds {count} hand-ins ({some})",
                               name=request.name, count=len(results), some=", ".join(sorted(results)[:5])))
    if not request.by:
        raise OverrideError(tr("a decision needs a reviewer's name (--by)"))
    fingerprint = request.fingerprint
    if request.kind == "check":
        check = next((c for c in results[request.name].get("checks", []) if c["id"] == request.subject), None)
        if check is None:
            raise OverrideError(tr("{name} has no check {check!r}; its checks: {known}", name=request.name,
                                   check=request.subject,
                                   known=", ".join(c["id"] for c in results[request.name].get("checks", []))))
        ceiling = upper_bound(check, config)
        if request.score is not None and not 0 <= request.score <= ceiling:
            raise OverrideError(tr("score {score:g} for {check} is out of bounds: expected 0 to {ceiling:g}",
                                   score=request.score, check=request.subject, ceiling=ceiling))
        fingerprint = fingerprint or inputs[request.name].get(request.subject, "")
    elif request.kind == "handin":
        if request.subject != HANDIN:
            raise OverrideError(tr("a hand-in adjustment has no check; got {check!r}", check=request.subject))
        if request.score is not None and not request.undo and not request.comment.strip():
            raise OverrideError(tr("an adjustment of {name}'s total needs a reason (--comment)", name=request.name))
        fingerprint = fingerprint or inputs[request.name].get(HANDIN, "")
    else:
        if request.subject not in results or request.subject == request.name:
            raise OverrideError(tr("unknown second hand-in {other!r} of the pair", other=request.subject))
        if request.score is not None:
            raise OverrideError(tr("a pair decision records no score: adjust either hand-in's total instead"))
        fingerprint = fingerprint or pair_fingerprint(*(inputs[n] for n in sorted((request.name, request.subject))))
    name, subject = request.name, request.subject
    if request.kind == "pair":
        name, subject = sorted((name, subject))
    return Decision(0, request.kind, name, subject, None if request.undo else request.score,
                    request.undo, request.comment, request.note, request.by,
                    now if request.at is None else request.at, fingerprint)
