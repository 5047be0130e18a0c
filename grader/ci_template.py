"""`dlgrade init-ci`: a GitHub Actions workflow that grades a submission repository on every push."""

from __future__ import annotations

import shlex
from pathlib import Path

WORKFLOW_PATH = Path(".github/workflows/dlgrade.yml")

WORKFLOW = """\
# Written by `dlgrade init-ci`. On every push: grade the hand-in in this repository, show the
# summary on the run's page, keep the HTML report as an artifact, fail when a check fails.
name: dlgrade
on:
  push:
  pull_request:
  workflow_dispatch:
jobs:
  grade:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "{python}"
          cache: pip
      - name: Install dlgrade
        run: python -m pip install {package}
      - name: Grade
        run: |
          set +e
          dlgrade check {path} {options}--format markdown --html dlgrade-report.html --junit dlgrade-junit.xml > dlgrade-summary.md
          status=$?
          cat dlgrade-summary.md >> "$GITHUB_STEP_SUMMARY"
          exit $status
      - name: Keep the report
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: dlgrade-report
          path: |
            dlgrade-report.html
            dlgrade-junit.xml
"""


def workflow(package: str = "dlgrade", python: str = "3.11", path: str = ".", fast: bool = False) -> str:
    """The workflow text; `package` is what pip installs (a version pin, a wheel URL or a git URL)."""
    return WORKFLOW.format(package=shlex.quote(package), python=python, path=path, options="--fast " if fast else "")


def write_workflow(repo: Path, package: str, python: str, fast: bool, force: bool) -> Path:
    """Write the workflow into `repo`; refuses to replace an existing one unless `force`."""
    target = repo / WORKFLOW_PATH
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(workflow(package, python, fast=fast), encoding="utf-8")
    return target
