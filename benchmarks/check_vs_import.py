"""How long `dlgrade check` on one hand-in takes, relative to `python -c "import tensorflow"`.

Both commands run alternately in this one process tree (same machine state), N times each;
prints the medians and their ratio. Target (issue 2): ratio under 1.5.

    python benchmarks/check_vs_import.py [--runs 5] [--submission submissions/correct] [--fast]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(command: list[str]) -> float:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--submission", default="submissions/correct")
    parser.add_argument("--fast", action="store_true", help="pass --fast (skip the MNIST checks)")
    args = parser.parse_args()
    baseline_cmd = [sys.executable, "-c", "import tensorflow"]
    check_cmd = [sys.executable, "-m", "grader", "check", args.submission, "--format", "json", *(["--fast"] if args.fast else [])]
    timed(baseline_cmd)  # warm the page cache for both
    timed(check_cmd)
    baseline, check = [], []
    for _ in range(args.runs):
        baseline.append(timed(baseline_cmd))
        check.append(timed(check_cmd))
    b, c = statistics.median(baseline), statistics.median(check)
    print(f"import tensorflow : median {b:.2f} s  ({', '.join(f'{t:.2f}' for t in baseline)})")
    print(f"dlgrade check{' --fast' if args.fast else '       '}: median {c:.2f} s  ({', '.join(f'{t:.2f}' for t in check)})  [{args.submission}]")
    print(f"ratio check / import: {c / b:.2f}  (target < 1.5)")


if __name__ == "__main__":
    main()
