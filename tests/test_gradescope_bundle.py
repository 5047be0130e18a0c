"""The Gradescope autograder bundle, unpacked into a folder laid out like /autograder: setup.sh
installs dlgrade, run_autograder writes a schema-valid results.json whose score is `dlgrade
check`'s, hidden checks are published later, and a grader failure still leaves a results file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from grader.cli import main
from tests.conftest import REPO

pytestmark = pytest.mark.slow
SCHEMA = json.loads((REPO / "tests" / "data" / "gradescope_results.schema.json").read_text())


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """A fake /autograder root with the bundle unpacked and setup.sh run (into a venv that sees this
    machine's packages, so nothing is downloaded)."""
    tmp = tmp_path_factory.mktemp("gradescope")
    config = tmp / "course.toml"
    config.write_text('[hidden]\nchecks = ["sigmoid.any_shape"]\n')
    bundle = tmp / "autograder.zip"
    assert main(["gradescope-bundle", "--out", str(bundle), "--config", str(config)]) == 0
    root = tmp / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        assert archive.getinfo("run_autograder").external_attr >> 16 & 0o111
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PATH=f"{venv / 'bin'}:{os.environ['PATH']}",
               PIP_NO_INDEX="1", TF_CPP_MIN_LOG_LEVEL="2")
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True,
                           timeout=600)
    assert setup.returncode == 0, setup.stderr[-2000:]
    return root, env


def _run(root: Path, env: dict, submission: Path) -> dict:
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.copytree(submission, root / "submission")
    run = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    return results


@pytest.mark.parametrize("example", ["seed_student", "buggy_part1"])
def test_results_are_schema_valid_and_score_like_dlgrade_check(autograder, example, capsys):
    root, env = autograder
    results = _run(root, env, REPO / "submissions" / example)
    main(["check", str(REPO / "submissions" / example), "--format", "json", "--config",
          str(root / "source" / "dlgrade.toml")])
    expected = json.loads(capsys.readouterr().out)
    assert results["score"] == expected["score"], [t for t in results["tests"] if t["name"].startswith("function_fitting")]
    hidden = [t for t in results["tests"] if t["name"] == "sigmoid.any_shape"]
    assert hidden and hidden[0]["visibility"] == "after_published"


def test_a_grader_failure_still_writes_a_results_file(autograder):
    root, env = autograder
    (root / "source" / "dlgrade.toml").write_text("[points]\nno_such_check = 3\n")  # dlgrade refuses to start
    try:
        results = _run(root, env, REPO / "submissions" / "correct")
    finally:
        (root / "source" / "dlgrade.toml").write_text('[hidden]\nchecks = ["sigmoid.any_shape"]\n')
    assert results["score"] == 0 and "could not grade this submission" in results["output"]
    assert "no_such_check" in results["output"]
