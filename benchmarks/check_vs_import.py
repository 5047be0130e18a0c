"""How long a student's `dlgrade check` takes, next to `python -c "import tensorflow"` (the one
cost that cannot be avoided), measured side by side in one run.

The three commands run in turn, N rounds (same machine state for each), and the medians and ratios
are printed. Targets (issue 16): full check within 1.8x, `--fast` within 1.3x of the import.
`--profile` then shows where one full check spends its wall time (start-up, zygote ready, each
job, references, reporting): the critical path. `--lang zh` also times the Chinese `--fast` check
beside the English one (the catalog lookups should cost nothing measurable).

    python benchmarks/check_vs_import.py [--runs 5] [--submission submissions/correct] [--profile] [--lang zh]
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
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--submission", default="submissions/correct")
    parser.add_argument("--profile", action="store_true", help="then profile one full check")
    parser.add_argument("--lang", choices=("zh",), help="also time `dlgrade check --fast --lang zh`")
    args = parser.parse_args()
    check = [sys.executable, "-m", "grader", "check", args.submission, "--format", "json"]
    commands = {"import tensorflow": [sys.executable, "-c", "import tensorflow"],
                "dlgrade check --fast": [*check, "--fast"], "dlgrade check": check}
    if args.lang:
        commands[f"check --fast --lang {args.lang}"] = [*check, "--fast", "--lang", args.lang]
    for command in commands.values():  # warm the page cache for each
        timed(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(timed(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:22s} median {medians[name]:.2f} s  ({', '.join(f'{t:.2f}' for t in values)})")
    base = medians["import tensorflow"]
    print(f"ratio check --fast / import: {medians['dlgrade check --fast'] / base:.2f}  (target <= 1.3)")
    print(f"ratio check / import:        {medians['dlgrade check'] / base:.2f}  (target <= 1.8)")
    if args.lang:
        chinese = medians[f"check --fast --lang {args.lang}"]
        print(f"ratio check --fast --lang {args.lang} / check --fast: {chinese / medians['dlgrade check --fast']:.2f}")
    sys.stdout.flush()
    if args.profile:
        subprocess.run([*check[:-2], "--profile"], cwd=REPO, stdout=subprocess.DEVNULL, check=False)


if __name__ == "__main__":
    main()
