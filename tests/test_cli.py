"""`dlgrade check` end to end, as a user runs it, on the bundled example hand-ins."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

EXAMPLES = ["correct", "seed_student", "merged_quirks", "buggy_part1", "broken"]
CONTRACT_KEYS = {"submission", "score", "max_score", "checks", "duration_s", "environment"}
CHECK_KEYS = {"id", "target", "score", "max_score", "passed", "message", "hint"}


def dlgrade(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", COLUMNS="160")
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def json_runs():
    paths = [f"submissions/{name}" for name in EXAMPLES]
    return [dlgrade("check", *paths, "--format", "json") for _ in range(2)]


def test_json_follows_the_results_contract(json_runs):
    run = json_runs[0]
    assert run.returncode == 1, run.stderr  # some examples fail checks
    documents = json.loads(run.stdout)
    assert [d["submission"] for d in documents] == EXAMPLES
    for document in documents:
        assert CONTRACT_KEYS <= set(document)
        for check in document["checks"]:
            assert CHECK_KEYS <= set(check) <= CHECK_KEYS | {"details"}
            assert check["target"] in {"softmax", "sigmoid", "softmax_ce", "sigmoid_ce", "Matmul", "Relu", "Softmax", "Log",
                                       "mnist_numpy", "mnist_tf", "function_fitting"}
            partial = check["id"] in ("function_fitting.report", "function_fitting.numpy_bonus")  # credit, extra credit
            assert check["score"] == (check["max_score"] if check["passed"] else 0) or partial
        assert document["score"] == sum(c["score"] for c in document["checks"])
    scores = {d["submission"]: (d["score"], d["max_score"]) for d in documents}
    assert scores["correct"] == (83, 78)  # Part 4 earns the 5-point NumPy bonus
    assert scores["merged_quirks"] == (40, 78)  # Part 1 only: Matmul, Relu, both models and Part 4 are missing
    assert scores["seed_student"] == (64.5, 78)  # softmax generality (3), the Part-3 model (6); Part 4: no test set,
    # no comments, no data collection and no function given in the report (2 of 4 sections), no bonus (PyTorch)
    assert scores["buggy_part1"][0] < 20
    broken = next(d for d in documents if d["submission"] == "broken")
    assert scores["broken"] == (10, 78)  # softmax only
    messages = {c["id"]: c["message"] for c in broken["checks"]}
    assert "exited with status 0" in messages["sigmoid.matches_tf"]
    assert "SIGSEGV" in messages["softmax_ce.matches_tf"]
    assert "ValueError at part1_export.py, line 25" in messages["sigmoid_ce.matches_tf"]
    assert any("cannot be read" in note for note in broken["notes"])
    assert any("part1_export.py: syntax error at line 28" in note for note in broken["notes"])


def test_same_hand_ins_give_the_same_json(json_runs):
    first, second = (json.loads(run.stdout) for run in json_runs)
    for document in first + second:
        document.pop("duration_s")
    assert first == second


def test_table_and_exit_code_for_a_passing_hand_in():
    run = dlgrade("check", "submissions/correct")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Total: 83/78 (all checks passed)" in run.stdout
    assert "softmax" in run.stdout and "matches_tf" in run.stdout


def test_table_names_failing_checks_and_hints():
    run = dlgrade("check", "submissions/seed_student")
    assert run.returncode == 1
    assert "FAIL" in run.stdout and "last_axis" in run.stdout and "hint:" in run.stdout
    assert "Total: 64.5/78" in run.stdout


def test_fast_and_target_options_select_checks():
    run = dlgrade("check", "submissions/correct", "--format", "json", "--fast")
    targets = {c["target"] for c in json.loads(run.stdout)["checks"]}
    assert run.returncode == 0 and "mnist_tf" not in targets and "softmax" in targets
    run = dlgrade("check", "submissions/seed_student", "--format", "json", "--target", "sigmoid")
    assert run.returncode == 0 and {c["target"] for c in json.loads(run.stdout)["checks"]} == {"sigmoid"}


def test_usage_errors_exit_2():
    assert dlgrade("check", "no/such/folder").returncode == 2
    assert dlgrade().returncode == 2
    assert dlgrade("check", "submissions/correct", "--format", "xml").returncode == 2


def test_check_writes_html_junit_and_gradescope_files(tmp_path):
    html, junit, gradescope = tmp_path / "r.html", tmp_path / "j.xml", tmp_path / "g.json"
    run = dlgrade("check", "submissions/seed_student", "--fast", "--html", str(html), "--junit", str(junit),
                  "--gradescope", str(gradescope))
    assert run.returncode == 1, run.stderr
    assert 'id="total">53 / 56</p>' in html.read_text(encoding="utf-8")
    assert "softmax.last_axis" in junit.read_text(encoding="utf-8")
    assert json.loads(gradescope.read_text())["score"] == 53
    several = dlgrade("check", "submissions/correct", "submissions/broken", "--html", str(html))
    assert several.returncode == 2 and "--out DIR" in several.stderr


def test_report_renders_the_stored_json_of_every_example(json_runs, tmp_path):
    stored = tmp_path / "results.json"
    stored.write_text(json_runs[0].stdout, encoding="utf-8")
    run = dlgrade("report", str(stored), "--out", str(tmp_path / "reports"))
    assert run.returncode == 0, run.stderr
    for name in EXAMPLES:
        assert (tmp_path / "reports" / name / "report.html").is_file()
    rows = (tmp_path / "reports" / "grades.csv").read_text().splitlines()
    assert len(rows) == 1 + len(EXAMPLES) and rows[1].startswith("correct,")
