"""Write grader/data/given_code.json: fingerprints of the code the homework hands out (the numpy
notebook's Softmax and Log classes), taken from the instructor notebook.

dlgrade reports those 0-point classes without running them when a hand-in's copy is unchanged
(same syntax tree: comments and formatting may differ); tests check that the given code
passes every check when it is run.

    python reference/make_given_code.py
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.checks.part2 import GIVEN_CLASSES, fingerprint
from grader.pipeline import load_sources
from grader.targets import TARGETS, locate

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "grader" / "data" / "given_code.json"


def main() -> None:
    files = [f for f in load_sources(HERE) if f.display == "tutorial_minst_fnn-numpy-exercise.ipynb"]
    fingerprints = {name: fingerprint(locate(TARGETS[name], files).definition) for name in GIVEN_CLASSES}
    OUT.write_text(json.dumps({"source": "reference/tutorial_minst_fnn-numpy-exercise.ipynb",
                               "sha256_of_ast": fingerprints}, indent=2) + "\n")
    print(f"wrote {OUT}: {fingerprints}")


if __name__ == "__main__":
    main()
