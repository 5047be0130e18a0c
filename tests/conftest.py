"""Shared fixtures: one Grader (one zygote) for the whole session.

The zygote must be forked before this process runs any TF op, so the fixture is session-wide
and requested first by every test module that grades.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
for _variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):  # English messages whatever the developer's locale
    os.environ.pop(_variable, None)  # (tests of Chinese feedback ask for it explicitly)
os.environ["LANG"] = "C.UTF-8"

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def grader():
    from grader.pipeline import Grader
    from grader.sandbox.jobs import Limits

    tempfile.gettempdir()  # cache /tmp as the zygote inherits it, as some installs do on import (children must cope)
    with Grader(workers=2, limits=Limits(call_timeout=3.0, load_timeout=6.0)) as instance:
        yield instance


TRAINING_TARGETS = {"mnist_numpy", "mnist_tf"}
FAST = {"softmax", "sigmoid", "softmax_ce", "sigmoid_ce", "Matmul", "Relu", "Softmax", "Log"}  # all but training


@pytest.fixture
def grade(grader):
    """Grade a folder (or file) and return ({check id: CheckResult}, result).

    The MNIST training targets are skipped unless `targets` names them (None: every target),
    since they take seconds.
    """

    def run(path: Path, targets: set[str] | None = FAST):
        result = grader.grade(path, targets)
        return {c.id: c for c in result.checks}, result

    return run

