"""Wall time of the two MNIST checks per hand-in (issue 4 budget: at most 10 s together).

Grades only the targets mnist_numpy and mnist_tf with one warm Grader: the correct example and
broken models that use every retry (numpy: a gradient-sign error, four attempts; TF: all-zero
weights, two attempts of 100 Adam steps; no attempt learns). Prints medians.

    python benchmarks/mnist_checks.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from grader.pipeline import Grader  # noqa: E402
from tests.helpers import write_handin  # noqa: E402
from tests.mnist_variants import NUMPY_BUGGY, TF_BUGGY  # noqa: E402

TARGETS = {"mnist_numpy", "mnist_tf"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, Grader(workers=os.cpu_count() or 2) as grader:
        broken = write_handin(Path(scratch) / "broken", edits=NUMPY_BUGGY["sign_error_in_backward_chain"][0]
                              + TF_BUGGY["zero_init"][0])
        for label, folder in (("correct example", REPO / "submissions" / "correct"), ("broken (all retries)", broken)):
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                grader.grade(folder, TARGETS)
                times.append(time.perf_counter() - started)
            print(f"{label:22s}: median {statistics.median(times):.2f} s ({', '.join(f'{t:.2f}' for t in times)}) "
                  f"for both MNIST checks (budget 10 s)")


if __name__ == "__main__":
    main()
