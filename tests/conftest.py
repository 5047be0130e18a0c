"""Shared fixtures: one Grader (one zygote) for the whole session.

The zygote must be forked before this process runs any TF op, so the fixture is session-wide
and requested first by every test module that grades.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def grader():
    from grader.pipeline import Grader
    from grader.sandbox.jobs import Limits

    with Grader(workers=2, limits=Limits(call_timeout=3.0, load_timeout=6.0)) as instance:
        yield instance


TRAINING_TARGETS = {"mnist_numpy", "mnist_tf"}


@pytest.fixture
def grade(grader, tmp_path):
    """Grade a folder (or file) and return ({check id: CheckResult}, result).

    The MNIST training targets are skipped unless `targets` names them: they take seconds.
    """

    def run(path: Path, targets=None):
        from grader.targets import TARGETS

        result = grader.grade(path, targets if targets is not None else set(TARGETS) - TRAINING_TARGETS)
        return {c.id: c for c in result.checks}, result

    return run

