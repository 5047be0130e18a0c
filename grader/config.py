"""Course configuration: points, hidden checks, tolerances, time limits and late penalty, from TOML.

The shipped default (grader/data/default_config.toml) is read first; a course file overrides
any key of it. Unknown sections, keys or check ids are errors that name what is allowed, so a
typo cannot silently grade with the default.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from grader.i18n import LANGUAGES, _, tr

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

COURSE_FILE = "dlgrade.toml"
_LIMIT_KEYS = ("call_timeout", "load_timeout", "handin_timeout", "memory_mb", "max_processes", "cpus", "max_file_mb",
               "wall_backstop")
_TOLERANCE_KEYS = ("gradient_relative_error", "mnist_numpy_accuracy", "mnist_tf_accuracy")
_LATE_KEYS = ("due", "penalty_per_day", "max_penalty", "at_deadline")
_INTAKE_KEYS = ("max_total_mb", "max_members", "max_file_mb", "max_ratio", "max_depth")
_INTAKE_COUNTS = ("max_members", "max_depth")  # whole numbers
_SIMILARITY_KEYS = ("flag_score", "flag_evidence", "min_fingerprints", "floor")
_FITTING_KEYS = ("time_limit", "r2_threshold", "line_margin", "grid_guard", "partial_r2", "settle_r2",
                 "comment_share", "numpy_bonus", "max_figures", "max_shipped_mb")


class ConfigError(ValueError):
    """A configuration file that cannot be used, with the file and the offending key."""


@dataclass(frozen=True)
class LatePolicy:
    due: datetime | None = None
    penalty_per_day: float = 0.0
    max_penalty: float = 1.0
    at_deadline: bool = False  # git hand-ins: grade the last commit at or before `due`, not the latest

    def penalty(self, submitted_at: datetime | None) -> tuple[int, float]:
        """(started days late, fraction of the score lost) for a hand-in submitted at `submitted_at`."""
        if self.due is None or submitted_at is None or submitted_at <= self.due:
            return 0, 0.0
        days = math.ceil((submitted_at - self.due).total_seconds() / 86400)
        return days, min(self.max_penalty, days * self.penalty_per_day)


@dataclass(frozen=True)
class Config:
    points: dict[str, float]
    hidden: frozenset[str] = frozenset()
    tolerances: dict[str, float] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)
    late: LatePolicy = LatePolicy()
    similarity: dict[str, float] = field(default_factory=dict)  # not part of a grade: not in the fingerprint
    fitting: dict[str, float] = field(default_factory=dict)  # Part 4: time cap, thresholds, bonus
    intake: dict[str, float] = field(default_factory=dict)  # archive caps (grader.intake.archives.limits_from_config)
    source: str = "default"  # which files were read, for messages
    review_always: frozenset[str] = frozenset()  # check ids always in the review queue; not in the fingerprint
    language: str | None = None  # feedback language ("en", "zh"); None: the locale's. Not in the fingerprint:
    # it changes the wording, never a grade

    @property
    def max_file_bytes(self) -> int:
        """The largest hand-in file that is read (`[limits] max_file_mb`)."""
        return int(self.limits["max_file_mb"] * 2**20)

    def fingerprint(self) -> str:
        """Changes whenever anything that affects a grade changes (part of the batch's grader key)."""
        data = {"points": self.points, "hidden": sorted(self.hidden), "tolerances": self.tolerances,
                "limits": self.limits, "fitting": self.fitting, "late": [str(self.late.due), self.late.penalty_per_day, self.late.max_penalty]}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _parse_due(text: str, where: str) -> datetime | None:
    if not text:
        return None
    try:
        due = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(tr("{where}: [late] due = {text!r} is not an ISO 8601 date, e.g. 2026-12-01T23:59:00+01:00",
                             where=where, text=text)) from None
    return due if due.tzinfo else due.replace(tzinfo=timezone.utc)


def _number(value: object, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(tr("{where}: {key} = {value!r} must be a number >= 0", where=where, key=key, value=value))
    return float(value)


def _flag(value: object, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(tr("{where}: {key} = {value!r} must be true or false", where=where, key=key, value=value))
    return value


def _intake(values: dict, where: str) -> dict[str, float]:
    """The [intake] caps: numbers >= 0, the counts whole."""
    caps = {k: _number(v, where, f"[intake] {k}") for k, v in values.items()}
    for key in _INTAKE_COUNTS:
        if not caps[key].is_integer():
            label = "[intake] " + key
            raise ConfigError(tr("{where}: {key} = {value!r} must be a whole number", where=where, key=label,
                                 value=values[key]))
    return caps


def _merge(base: dict, override: dict, where: str) -> dict:
    merged = {section: dict(values) for section, values in base.items()}
    for section, values in override.items():
        if section not in base:
            raise ConfigError(tr("{where}: unknown section [{section}]; allowed: {allowed}",
                                 where=where, section=section, allowed=", ".join(base)))
        if not isinstance(values, dict):
            raise ConfigError(tr("{where}: [{section}] must be a table", where=where, section=section))
        merged[section].update(values)
    return merged


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(tr("cannot read configuration {path}: {error}", path=path, error=error)) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(tr("{path}: not valid TOML: {error}", path=path, error=error)) from None


def _check_ids(data: dict, section: str, key: str, where: str, known: dict) -> list[str]:
    """The list of check ids a section holds under its one key ([hidden] checks, [review] always)."""
    listed = data[section].get(key, [])
    if set(data[section]) - {key} or not isinstance(listed, list):
        raise ConfigError(tr('{where}: [{section}] takes one key, {key} = ["check.id", ...]', where=where,
                             section=section, key=key))
    unknown = sorted(set(listed) - set(known))
    if unknown:
        raise ConfigError(tr("{where}: unknown check id(s) in [{section}] {key}: {unknown}", where=where,
                             section=section, key=key, unknown=", ".join(unknown)))
    return listed


def load_config(path: Path | None = None) -> Config:
    """The default configuration, overridden by `path` (or by ./dlgrade.toml when it exists)."""
    default = tomllib.loads(resources.files("grader.data").joinpath("default_config.toml").read_text(encoding="utf-8"))
    if path is None and Path(COURSE_FILE).is_file():
        path = Path(COURSE_FILE)
    where = str(path) if path else _("default configuration")
    course = _read(path) if path else {}
    language = course.pop("language", None)
    if language is not None and language not in LANGUAGES:
        raise ConfigError(tr("{where}: language = {language!r} is not one dlgrade speaks; choose one of: {choices}",
                             where=where, language=language, choices=", ".join(LANGUAGES)))
    data = _merge(default, course, where) if path else default
    unknown_points = sorted(set(data["points"]) - set(default["points"]))
    if unknown_points:
        raise ConfigError(tr("{where}: unknown check id(s) in [points]: {unknown}; known: {known}", where=where,
                             unknown=", ".join(unknown_points), known=", ".join(default["points"])))
    hidden = _check_ids(data, "hidden", "checks", where, default["points"])
    always = _check_ids(data, "review", "always", where, default["points"])
    for section, keys in (("tolerances", _TOLERANCE_KEYS), ("limits", _LIMIT_KEYS), ("late", _LATE_KEYS),
                          ("similarity", _SIMILARITY_KEYS), ("fitting", _FITTING_KEYS), ("intake", _INTAKE_KEYS)):
        extra = sorted(set(data[section]) - set(keys))
        if extra:
            raise ConfigError(tr("{where}: unknown key(s) in [{section}]: {extra}; allowed: {allowed}",
                                 where=where, section=section, extra=", ".join(extra), allowed=", ".join(keys)))
    late = data["late"]
    return Config(
        points={k: _number(v, where, f"[points] {k!r}") for k, v in data["points"].items()},
        hidden=frozenset(hidden),
        tolerances={k: _number(v, where, f"[tolerances] {k}") for k, v in data["tolerances"].items()},
        limits={k: _number(v, where, f"[limits] {k}") for k, v in data["limits"].items()},
        late=LatePolicy(_parse_due(str(late.get("due", "")), where), _number(late["penalty_per_day"], where, "penalty_per_day"),
                        _number(late["max_penalty"], where, "max_penalty"),
                        _flag(late["at_deadline"], where, "[late] at_deadline")),
        similarity={k: _number(v, where, f"[similarity] {k}") for k, v in data["similarity"].items()},
        fitting={k: _number(v, where, f"[fitting] {k}") for k, v in data["fitting"].items()},
        intake=_intake(data["intake"], where),
        review_always=frozenset(always),
        source=where,
        language=language,
    )
