"""Score: a hand-in's checks added up, and the results contract (design.md) as JSON."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass, field

from grader import __version__
from grader.checks.model import CheckResult

TARGET_ORDER = ("softmax", "sigmoid", "softmax_ce", "sigmoid_ce", "Matmul", "Relu", "Softmax", "Log",
                "mnist_numpy", "mnist_tf", "function_fitting")


@dataclass
class SubmissionResult:
    """Everything graded for one hand-in; `to_dict` is the stable JSON contract."""

    submission: str
    checks: list[CheckResult]
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be loaded, and why
    duration_s: float = 0.0
    internal_errors: list[str] = field(default_factory=list)
    sources: dict[str, dict] = field(default_factory=dict)  # per target: where and the student's code
    confinement: dict | None = None  # what the sandbox applied and could not apply (sandbox/confine.py)
    late: dict | None = None  # submitted_at, due, days_late, penalty (a fraction), when late
    seed: int = 0  # the grader's seed for inputs, sampling and training

    @property
    def raw_score(self) -> float:
        """Points of the passed checks, before any late penalty."""
        return round(sum(c.score for c in self.checks), 6)

    @property
    def score(self) -> float:
        penalty = self.late["penalty"] if self.late else 0.0
        return round(self.raw_score * (1 - penalty), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 6)

    @property
    def passed(self) -> bool:
        """Every check worth points passed (zero-point checks only inform)."""
        return all(c.passed or not c.max_score for c in self.checks) and not self.internal_errors

    def per_target(self) -> dict[str, tuple[float, float]]:
        """(score, max_score) per target, in homework order."""
        return _sum_per_target((c.target, c.score, c.max_score) for c in self.checks)

    def to_dict(self) -> dict:
        return {
            "submission": self.submission,
            "score": self.score,
            "max_score": self.max_score,
            **({"raw_score": self.raw_score, "late": self.late} if self.late else {}),
            "checks": [c.to_dict() for c in self.checks],
            "files": self.files,
            "notes": self.notes,
            "internal_errors": self.internal_errors,
            "sources": self.sources,
            "duration_s": round(self.duration_s, 3),
            "environment": dict(environment(), seed=self.seed,
                                **({"confinement": self.confinement} if self.confinement else {})),
        }


def _sum_per_target(rows: Iterable[tuple[str, float, float]]) -> dict[str, tuple[float, float]]:
    totals: dict[str, tuple[float, float]] = {}
    for target, score, maximum in rows:
        old_score, old_maximum = totals.get(target, (0.0, 0.0))
        totals[target] = (old_score + float(score), old_maximum + float(maximum))
    order = {name: i for i, name in enumerate(TARGET_ORDER)}
    return dict(sorted(totals.items(), key=lambda item: order.get(item[0], len(order))))


def target_totals(document: dict) -> dict[str, tuple[float, float]]:
    """(score, max_score) per target of a results contract, in homework order."""
    return _sum_per_target((c["target"], c["score"], c["max_score"]) for c in document.get("checks", []))


def who(document: dict) -> str:
    """How reports name a hand-in: its students as the system named them (a group's members each), else
    the hand-in's own name (a plain student folder)."""
    people = document.get("members") or [document.get("student") or {}]
    labels = [p.get("name") or p.get("login") or p.get("email") or p.get("id") for p in people]
    return ", ".join(label for label in labels if label) or str(document.get("submission", ""))


def failed_checks(document: dict) -> list[dict]:
    """The checks of a results contract that are worth points and failed."""
    return [c for c in document.get("checks", []) if not c["passed"] and c["max_score"]]


def _installed_version(*distributions: str) -> str:
    """The version of the first installed distribution (read from its metadata: no import)."""
    from importlib import metadata

    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def environment() -> dict[str, str]:
    """Versions that a result depends on (stable on one machine, so JSON stays deterministic)."""
    import numpy

    return {
        "dlgrade": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "tensorflow": _installed_version("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos"),
        "platform": platform.system(),
    }
