"""The result of one check, as the results contract (design.md) lists it."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from grader.i18n import N_, _, tr

# the child words it in the hand-in's language (loader.MissingModule, loader.load's notes): both are matched
_MISSING_PACKAGE = re.compile(r"package `([\w.]+)` is not installed where dlgrade runs|没有安装包 `([\w.]+)`"
                              r"|(?:import failed \(|导入失败（)No module named '([\w.]+)'")
INSTALL_HINTS = {"torch": N_("this hand-in needs PyTorch: install it where dlgrade runs with "
                             "`pip install torch==2.13.0 && pip install 'dlgrade[torch]'` and grade it again")}


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
    credit: float | None = None  # partial credit, a fraction of max_score (None: all or nothing by `passed`)
    bonus: float = 0.0  # extra credit on top of max_score (Part 4's NumPy bonus)
    needs_human: bool = False  # could not be judged automatically; in the JSON only when set

    @property
    def score(self) -> float:
        earned = self.max_score * self.credit if self.credit is not None else (self.max_score if self.passed else 0.0)
        return round(earned + self.bonus, 6)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["score"] = self.score
        keys = ("id", "target", "score", "max_score", "passed", "message", "hint") + (("details",) if self.details else ())
        return {key: data[key] for key in keys} | ({"hidden": True} if self.hidden else {}) \
            | ({"needs_human": True} if self.needs_human else {})


def all_failed(target: str, check_ids: list[tuple[str, float]], message: str, hint: str | None = None) -> list[CheckResult]:
    """Every check of a target failed for one reason (missing definition, unloadable file, grader error)."""
    return [CheckResult(check_id, target, points, False, message, hint) for check_id, points in check_ids]


def missing_package(text: str) -> str | None:
    """The top-level package a message says is not installed where dlgrade runs, if any."""
    match = _MISSING_PACKAGE.search(text)
    return next(group for group in match.groups() if group).split(".")[0] if match else None


def install_hint(package: str) -> str:
    if package in INSTALL_HINTS:
        return _(INSTALL_HINTS[package])
    return tr("this hand-in needs the package `{package}`: install it where dlgrade runs and grade it again",
              package=package)


def flag_missing_packages(checks: list[CheckResult]) -> list[CheckResult]:
    """A check that failed only because a package is missing where dlgrade runs (PyTorch, say) is not
    the student's fault: it is flagged for a human, with how to install the package."""
    for check in checks:
        package = None if check.passed else missing_package(check.message)
        if package:
            check.needs_human = True
            check.hint = install_hint(package)
    return checks
