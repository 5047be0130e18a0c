"""A student's submission repository: `dlgrade check` with no arguments, `pytest --dlgrade .`, the
workflow `dlgrade init-ci` writes, and a course TOML, all in a throw-away git repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", COLUMNS="200")


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=dict(ENV, **env), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The seed student's hand-in, committed to a fresh git repository."""
    root = tmp_path_factory.mktemp("submission-repo")
    for item in (REPO / "submissions" / "seed_student").iterdir():
        if item.suffix == ".ipynb":
            shutil.copy(item, root / item.name)
    for command in (["git", "init", "-q"], ["git", "add", "."],
                    ["git", "-c", "user.name=s", "-c", "user.email=s@example.org", "commit", "-qm", "hand-in"]):
        assert run(command, root).returncode == 0
    return root


@pytest.fixture(scope="module")
def json_verdicts(repo) -> dict[str, bool]:
    done = run([sys.executable, "-m", "grader", "check", "--fast", "--format", "json"], repo)
    assert done.returncode == 1, done.stderr
    return {c["id"]: c["passed"] for c in json.loads(done.stdout)["checks"]}


def test_check_without_arguments_grades_the_current_folder(repo):
    done = run([sys.executable, "-m", "grader", "check", "--fast"], repo)
    assert done.returncode == 1
    assert "last_axis" in done.stdout and "FAIL" in done.stdout and "Total: 53/56" in done.stdout


def test_pytest_plugin_has_one_test_per_check_with_the_same_verdicts(repo, json_verdicts, tmp_path):
    report = tmp_path / "pytest.xml"
    done = run([sys.executable, "-m", "pytest", "--dlgrade", ".", "--dlgrade-fast", "-p", "no:cacheprovider",
                f"--junitxml={report}"], repo)
    assert done.returncode == 1, done.stdout[-2000:]
    cases = ET.parse(report).getroot().iter("testcase")
    verdicts = {case.get("name"): case.find("failure") is None for case in cases}
    assert verdicts == json_verdicts
    assert "softmax.last_axis (0/3 points)" in done.stdout and "hint:" in done.stdout


def test_init_ci_writes_a_workflow_that_installs_and_runs_dlgrade(repo, tmp_path):
    done = run([sys.executable, "-m", "grader", "init-ci", "--package", "dlgrade==0.1.0", "--fast"], repo)
    assert done.returncode == 0, done.stderr
    path = repo / ".github" / "workflows" / "dlgrade.yml"
    workflow = yaml.safe_load(path.read_text())
    assert run([sys.executable, "-m", "grader", "init-ci"], repo).returncode == 2  # no silent overwrite
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert "push" in triggers
    steps = workflow["jobs"]["grade"]["steps"]
    runs = [step.get("run", "") for step in steps]
    assert any("pip install dlgrade==0.1.0" in script for script in runs)
    grade = next(step for step in steps if "dlgrade check" in step.get("run", ""))
    upload = next(step for step in steps if "upload-artifact" in step.get("uses", ""))
    assert upload["if"] == "always()" and "dlgrade-report.html" in upload["with"]["path"]
    summary = tmp_path / "step-summary.md"
    done = subprocess.run(["bash", "-e", "-c", grade["run"]], cwd=repo, env=dict(ENV, GITHUB_STEP_SUMMARY=str(summary)),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1  # the hand-in fails a check, so the job fails
    text = summary.read_text()
    assert text.startswith("## dlgrade:") and "53 / 56" in text and "| softmax.last_axis |" in text
    assert (repo / "dlgrade-report.html").stat().st_size > 10_000


def test_course_toml_changes_points_and_the_score(repo):
    (repo / "dlgrade.toml").write_text('[points]\n"sigmoid.matches_tf" = 15\n')
    try:
        done = run([sys.executable, "-m", "grader", "check", "--fast", "--format", "json", "--part", "1"], repo)
    finally:
        (repo / "dlgrade.toml").unlink()
    document = json.loads(done.stdout)
    assert (document["score"], document["max_score"]) == (48, 51)  # 37/40 before, +11 on a passed check (4 -> 15)
    assert {c["target"] for c in document["checks"]} == {"softmax", "sigmoid", "softmax_ce", "sigmoid_ce"}
