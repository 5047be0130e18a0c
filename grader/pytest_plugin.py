"""pytest plugin: `pytest --dlgrade PATH` turns every dlgrade check into a test item.

Registered through the `pytest11` entry point, so GitHub Classroom-style "run pytest"
autograding and IDE test runners see one test per check (named by its id, failing with its
message and hint). The hand-in is graded once, at collection; items only report.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dlgrade")
    group.addoption("--dlgrade", metavar="PATH", help="grade the hand-in at PATH with dlgrade, one test per check")
    group.addoption("--dlgrade-fast", action="store_true", help="skip dlgrade's MNIST training checks")
    group.addoption("--dlgrade-config", metavar="TOML", help="course configuration for dlgrade")


class CheckFailed(Exception):
    """A dlgrade check that did not pass; its text is the check's message and hint."""


class CheckItem(pytest.Item):
    """One dlgrade check, already judged; running it only reports the verdict."""

    def __init__(self, *, check: dict, **kwargs) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.user_properties.append(("points", f"{check['score']:g}/{check['max_score']:g}"))

    def runtest(self) -> None:
        if not self.check["passed"]:
            hint = f"\nhint: {self.check['hint']}" if self.check.get("hint") else ""
            raise CheckFailed(f"{self.check['message']}{hint}")

    def repr_failure(self, excinfo, style=None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return f"{self.check['id']} ({self.check['score']:g}/{self.check['max_score']:g} points): {excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"dlgrade {self.check['id']}"


class HandinCollector(pytest.Collector):
    """The hand-in at PATH: grades it and yields one CheckItem per check."""

    def collect(self):
        from grader import i18n, scoring
        from grader.config import load_config
        from grader.pipeline import Grader
        from grader.targets import TARGETS, TRAINING_TARGETS

        options = self.config.option
        config_path = Path(options.dlgrade_config) if options.dlgrade_config else None
        targets = set(TARGETS) - (TRAINING_TARGETS if options.dlgrade_fast else set())
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        config = load_config(config_path)
        i18n.use(i18n.resolve(None, config.language))
        with Grader(workers=os.cpu_count() or 2, config=config) as grader:
            document = scoring.redact_hidden(grader.grade(self.path, targets).to_dict())
        for check in document["checks"]:
            yield CheckItem.from_parent(self, name=check["id"], check=check)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With --dlgrade, import none of the repository's files: a student's test_*.py is student
    code, and it runs only in dlgrade's sandbox."""
    return True if config.getoption("dlgrade") else None


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    """With --dlgrade, the checks are the tests (the repository's own test files are not collected)."""
    path = config.getoption("dlgrade")
    if path is None:
        return
    if not Path(path).exists():
        raise pytest.UsageError(f"--dlgrade {path}: no such file or folder")
    collector = HandinCollector.from_parent(session, name="dlgrade", path=Path(path).resolve())
    items[:] = list(collector.collect())
