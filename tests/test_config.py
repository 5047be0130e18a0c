"""Course configuration: points, hidden checks, tolerances and the late penalty change grades as set."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader import scoring
from grader.checks.fitting import FunctionFitting
from grader.checks.mnist import Training
from grader.checks.part1 import Part1
from grader.checks.part2 import Part2
from grader.config import ConfigError, LatePolicy, load_config
from grader.pipeline import Grader
from grader.report.exports import gradescope
from grader.sandbox.jobs import Limits
from tests.helpers import part1_cells, write_handin, write_notebook

DUE = datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc)


def course(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dlgrade.toml"
    path.write_text(text)
    return path


def test_shipped_points_are_the_checks_points():
    fitting = FunctionFitting(Limits(), load_config().fitting)
    expected = {cid: points for family in (Part1(), Part2(), Training(), fitting) for target in family.targets
                for cid, points in family.check_ids(target)}
    assert load_config().points == expected


def test_changed_points_change_the_score(grade, tmp_path):
    _, result = grade(write_notebook(tmp_path / "hw" / "hw.ipynb", part1_cells()).parent,
                      {"softmax", "sigmoid", "softmax_ce", "sigmoid_ce"})
    assert (result.score, result.max_score) == (40, 40)
    config = load_config(course(tmp_path, '[points]\n"sigmoid.matches_tf" = 15\n"softmax.no_builtin" = 0\n'))
    scoring.apply(result, config)
    assert (result.score, result.max_score) == (49, 49)  # 40 - 4 + 15 - 2


def test_course_file_in_the_current_folder_is_read(tmp_path, monkeypatch):
    course(tmp_path, '[points]\n"Relu.forward" = 7\n')
    monkeypatch.chdir(tmp_path)
    assert load_config().points["Relu.forward"] == 7 and load_config().source == "dlgrade.toml"


@pytest.mark.parametrize("text, complaint", [
    ('[points]\n"softmax.matches" = 3\n', "unknown check id(s) in [points]: softmax.matches"),
    ('[pionts]\nx = 1\n', "unknown section [pionts]"),
    ('[hidden]\nchecks = ["nope.check"]\n', "unknown check id(s) in [hidden] checks: nope.check"),
    ('[limits]\ncall_timeout = -1\n', "call_timeout = -1 must be a number >= 0"),
    ('[limits]\ncall_timout = 3\n', "unknown key(s) in [limits]: call_timout"),
    ('[late]\ndue = "next friday"\n', "not an ISO 8601 date"),
    ('[points\n', "not valid TOML"),
])
def test_configuration_mistakes_are_named(tmp_path, text, complaint):
    path = course(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert complaint in str(error.value) and str(path) in str(error.value)


def test_config_fingerprint_follows_every_setting(tmp_path):
    base = load_config().fingerprint()
    assert load_config(course(tmp_path, "[hidden]\nchecks = []\n")).fingerprint() == base
    assert load_config(course(tmp_path, '[hidden]\nchecks = ["sigmoid.any_shape"]\n')).fingerprint() != base
    assert load_config(course(tmp_path, "[tolerances]\ngradient_relative_error = 1e-3\n")).fingerprint() != base


def test_hidden_checks_count_but_are_not_described_to_students(grade, tmp_path):
    buggy = write_notebook(tmp_path / "hw" / "hw.ipynb", part1_cells(sigmoid="def sigmoid(x):\n    return 1 / (1 + tf.exp(x))"))
    _, result = grade(buggy.parent, {"sigmoid"})
    scoring.apply(result, load_config(course(tmp_path, '[hidden]\nchecks = ["sigmoid.matches_tf"]\n')))
    document = result.to_dict()
    student = scoring.redact_hidden(document)
    hidden = next(c for c in student["checks"] if c["id"] == "sigmoid.matches_tf")
    assert hidden["hidden"] and not hidden["passed"] and hidden["message"] == scoring.HIDDEN_MESSAGE
    assert hidden["hint"] is None and "sign" not in str(hidden)
    assert student["score"] == document["score"]  # it still counts
    instructor = next(c for c in document["checks"] if c["id"] == "sigmoid.matches_tf")
    assert instructor["hint"] and "exp" in instructor["hint"]
    tests = {t["name"]: t for t in gradescope(document)["tests"]}
    assert tests["sigmoid.matches_tf"]["visibility"] == "after_published"
    assert tests["sigmoid.any_shape"]["visibility"] == "visible"


def test_late_penalty_per_started_day_up_to_the_cap(grade, tmp_path):
    policy = LatePolicy(DUE, penalty_per_day=0.25, max_penalty=0.6)
    assert policy.penalty(DUE) == (0, 0.0)
    assert policy.penalty(DUE + timedelta(minutes=1)) == (1, 0.25)
    assert policy.penalty(DUE + timedelta(days=1, minutes=1)) == (2, 0.5)
    assert policy.penalty(DUE + timedelta(days=9)) == (9, 0.6)
    config = load_config(course(tmp_path, '[late]\ndue = "2026-12-01T23:59:00+00:00"\npenalty_per_day = 0.25\n'))
    _, result = grade(write_notebook(tmp_path / "hw" / "hw.ipynb", part1_cells()).parent, {"sigmoid"})
    scoring.apply(result, config, DUE + timedelta(hours=30))
    assert result.raw_score == 10 and result.score == 5 and result.to_dict()["late"]["days_late"] == 2
    scoring.apply(result, config, DUE - timedelta(hours=1))
    assert result.score == 10 and "late" not in result.to_dict()


def test_submission_time_from_file_or_mtime(tmp_path):
    folder = write_notebook(tmp_path / "hw" / "hw.ipynb", part1_cells()).parent
    assert abs(scoring.submission_time(folder).timestamp() - (folder / "hw.ipynb").stat().st_mtime) < 1
    (folder / scoring.SUBMITTED_AT_FILE).write_text("2026-12-02T10:00:00+01:00\n")
    assert scoring.submission_time(folder) == datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


def test_tolerances_reach_the_judges(grader, tmp_path):
    scaled = "class Matmul:\n    def forward(self, x, W):\n        self.x, self.W = x, W\n        return x @ W\n" \
             "    def backward(self, grad_y):\n        return (1 + 1e-3) * grad_y @ self.W.T, self.x.T @ grad_y"
    handin = write_handin(tmp_path / "h", Matmul=scaled)
    strict = grader.grade(handin, {"Matmul"})
    assert not {c.id: c for c in strict.checks}["Matmul.backward_tf"].passed
    config = load_config(course(tmp_path, "[tolerances]\ngradient_relative_error = 1e-2\nmnist_tf_accuracy = 0.99\n"))
    lenient = Grader(workers=2, zygote=grader.zygote, config=config, limits=Limits(3.0, 6.0))
    try:
        checks = {c.id: c for c in lenient.grade(handin, {"Matmul"}).checks}
        assert checks["Matmul.backward_tf"].passed and checks["Matmul.backward_fd"].passed
        training = next(family for family in lenient.families if hasattr(family, "threshold"))
        assert training.threshold("mnist_tf") == 0.99
    finally:
        lenient.pool.shutdown()  # the zygote is the session's
