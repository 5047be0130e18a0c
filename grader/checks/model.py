"""The result of one check, as the results contract (design.md) lists it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class CheckResult:
    """One graded check: full points when passed, none otherwise."""

    id: str
    target: str
    max_score: float
    passed: bool
    message: str
    hint: str | None = None
    details: dict | None = None  # e.g. training curves; in the JSON only when present
    hidden: bool = False  # configured as hidden from students before grading; in the JSON only when set

    @property
    def score(self) -> float:
        return self.max_score if self.passed else 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["score"] = self.score
        keys = ("id", "target", "score", "max_score", "passed", "message", "hint") + (("details",) if self.details else ())
        return {key: data[key] for key in keys} | ({"hidden": True} if self.hidden else {})


def all_failed(target: str, check_ids: list[tuple[str, float]], message: str, hint: str | None = None) -> list[CheckResult]:
    """Every check of a target failed for one reason (missing definition, unloadable file, grader error)."""
    return [CheckResult(check_id, target, points, False, message, hint) for check_id, points in check_ids]
