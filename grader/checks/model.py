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

    @property
    def score(self) -> float:
        return self.max_score if self.passed else 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["score"] = self.score
        return {key: data[key] for key in ("id", "target", "score", "max_score", "passed", "message", "hint")}
