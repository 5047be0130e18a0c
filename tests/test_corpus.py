"""The real class in ../shared/corpus: Parts 1-3 agree with the teaching assistant on every label.

Grades the class as its README says (`dlgrade batch`, Parts 1-3) and compares each label of
`labels.tsv` (`full`: no point lost on the target; `fail`: points lost) with the points dlgrade
gave. Nothing of the corpus is copied into the project; the test skips, saying why, without it.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

CORPUS = REPO.parent / "shared" / "corpus"


@pytest.mark.corpus
@pytest.mark.skipif(not (CORPUS / "labels.tsv").is_file(), reason=f"the real class is not at {CORPUS}")
def test_real_class_agrees_with_every_label(tmp_path):
    out = tmp_path / "reports"
    command = [sys.executable, "-m", "grader", "batch", str(CORPUS), "--out", str(out), "--part", "1", "--part", "2",
               "--part", "3", "--no-similarity", "--workers", "2"]
    subprocess.run(command, cwd=REPO, check=False, capture_output=True, text=True, timeout=1200)
    with (CORPUS / "labels.tsv").open(encoding="utf-8") as handle:
        labels = list(csv.DictReader(handle, delimiter="\t"))
    disagreements = []
    for label in labels:
        document = json.loads((out / label["dir"] / "results.json").read_text(encoding="utf-8"))
        checks = [c for c in document["checks"] if c["target"] == label["target"]]
        verdict = "full" if checks and all(c["score"] == c["max_score"] for c in checks) else "fail"
        if verdict != label["expect"]:
            lost = [c["id"] for c in checks if c["score"] < c["max_score"]]
            disagreements.append(f"{label['dir']} {label['target']}: label {label['expect']}, dlgrade {verdict} {lost}")
    assert disagreements == [], f"{len(labels) - len(disagreements)}/{len(labels)} agree"
    assert len(labels) == 183
