"""The review queue: every place a person must look, and whether someone has decided it.

Items: checks flagged `needs_human`, checks the course lists under `[review] always`, hand-ins that
failed to load, timed out or hit a grader error, flagged similar pairs, and any check or total a
reviewer changed. An item is open (undecided, or its decision undone), done, or stale (decided on
work that has changed since: the automated score stands until someone decides again).
"""

from __future__ import annotations

from dataclasses import dataclass

from grader import overrides
from grader.batch import failed_to_load, timed_out
from grader.sandbox.jobs import reports_timeout
from grader.config import Config
from grader.gradebook import Decision, Gradebook
from grader.i18n import _, tr
from grader.report import reviewed
from grader.results import who
from grader.similarity import COMBINED, SimilaritySettings, compare

KIND_ORDER = ("grader_error", "failed_to_load", "timed_out", "needs_human", "always", "pair", "override", "adjustment")
STATUSES = ("open", "done", "stale")


@dataclass
class Item:
    """One thing to review; `key` is the (kind, hand-in, subject) its decisions are stored under."""

    kind: str
    submission: str
    key: tuple[str, str, str]
    status: str
    reason: str
    target: str = ""
    check: str | None = None
    pair: list[str] | None = None
    decision: Decision | None = None  # the one in force (for a stale item: the old one, shown again)
    who: str = ""  # the student(s), as the LMS or GitHub named them (results.who)

    def to_dict(self) -> dict:
        data = {"kind": self.kind, "submission": self.submission, "who": self.who or self.submission,
                "status": self.status, "reason": self.reason}
        data |= {"pair": self.pair} if self.pair else {"check": self.check}
        if self.decision is not None:
            data["decision"] = {"score": self.decision.score, "by": self.decision.by,
                                "at": overrides.stamp(self.decision.at), "comment": self.decision.comment}
        return data


def _status(decision: Decision | None, stale: bool) -> str:
    """open (never decided, or undone), stale (decided on other work) or done."""
    if decision is None or decision.undo:
        return "open"
    return "stale" if stale else "done"


def _stale_reason(decision: Decision) -> str:
    """The old decision, said again, for the item it no longer settles."""
    score = _("no change") if decision.score is None else f"{decision.score:g}"
    return tr("the work changed since {by} decided {score} on {at} ({comment}): the automated score stands",
              by=decision.by, score=score, at=overrides.stamp(decision.at), comment=decision.comment or "-")


def _handin_kind(result: dict) -> tuple[str, str] | None:
    """(kind, reason) when the whole hand-in needs a look: a grader error, nothing loaded, a timeout."""
    if result.get("internal_errors"):
        return "grader_error", "; ".join(result["internal_errors"])
    if failed_to_load(result):
        return "failed_to_load", "; ".join(result.get("notes", [])) or _("no graded target was found")
    if timed_out(result):
        return "timed_out", next(c["message"] for c in result["checks"] if reports_timeout(c["message"]))
    return None


def flagged_pairs(results: dict[str, dict],
                  settings: SimilaritySettings | None) -> list[tuple[str, str, float, float]]:
    """(a, b, similarity, surprise) of every flagged pair, as the class page lists them."""
    if settings is None or len(results) < 2:
        return []
    return [(r.a, r.b, r.score, r.evidence) for r in compare(list(results.values()), settings)
            if r.target == COMBINED and r.flagged]


def build(gradebook: Gradebook, config: Config) -> list[Item]:
    """Every item of the queue, in hand-in order, then by kind and check."""
    folders = reviewed.folders_of(gradebook)
    entries = {e.name: e for e in gradebook.entries(list(folders))}
    latest = overrides.latest(gradebook.decisions())
    inputs = {name: gradebook.inputs(name) for name in entries}
    items: list[Item] = []

    def add(kind: str, name: str, key: tuple[str, str, str], reason: str, **extra: object) -> None:
        decision = latest.get(key)
        stale = decision is not None and overrides.is_stale(decision, inputs[name], inputs.get(key[2]))
        status = _status(decision, stale)
        items.append(Item(kind, name, key, status, _stale_reason(decision) if status == "stale" else reason,
                          decision=decision if decision is not None and not decision.undo else None,
                          who=who(entries[name].result), **extra))

    for name, entry in entries.items():
        result = entry.result
        problem = _handin_kind(result)
        adjustment = latest.get(("handin", name, overrides.HANDIN))
        if problem:
            add(problem[0], name, ("handin", name, overrides.HANDIN), problem[1])
        elif adjustment is not None and not adjustment.undo:
            add("adjustment", name, ("handin", name, overrides.HANDIN), tr("total adjusted by {by}", by=adjustment.by))
        for check in result.get("checks", []):
            key = ("check", name, check["id"])
            decided = latest.get(key)
            if check.get("needs_human"):
                add("needs_human", name, key, check["message"], target=check["target"], check=check["id"])
            elif check["id"] in config.review_always:
                add("always", name, key, _("listed under [review] always in the course configuration"),
                    target=check["target"], check=check["id"])
            elif decided is not None and not decided.undo:
                add("override", name, key, tr("score set by {by}", by=decided.by), target=check["target"],
                    check=check["id"])
    stored = (gradebook.meta(reviewed.RENDERING) or {}).get("similarity")
    settings = SimilaritySettings(**stored) if stored else None
    for a, b, score, evidence in flagged_pairs({n: e.result for n, e in entries.items()}, settings):
        add("pair", a, ("pair", a, b), tr("similar hand-ins: similarity {score:.2f}, surprise {nats:.1f} nats",
                                          score=score, nats=evidence), pair=[a, b])
    order = {kind: i for i, kind in enumerate(KIND_ORDER)}
    return sorted(items, key=lambda i: (i.submission, order[i.kind], i.check or ""))
