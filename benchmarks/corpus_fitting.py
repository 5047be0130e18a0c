"""Part 4 on a real class, side by side in one run: early stopping on and off, and an older dlgrade.

Grades the class (`--part 4`, 2 workers) with this dlgrade as it is, with training never stopped
early (`settle_r2` above 1 in a course file), and, with `--baseline REV`, with the dlgrade of that
commit (checked out in a temporary git worktree). Prints the batch wall time of each, the median
and maximum Part 4 time per hand-in with fitting code, their ratios, and every check whose verdict
differs between early stopping on and off (there should be none).

    python benchmarks/corpus_fitting.py [--corpus ../shared/corpus] [--baseline 9b37a63]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def grade(root: Path, corpus: Path, out: Path, config: Path | None) -> tuple[float, list[dict]]:
    """Wall time of one batch run of `root`'s dlgrade, and its results."""
    command = [sys.executable, "-m", "grader", "batch", str(corpus), "--part", "4", "--workers", "2",
               "--no-similarity", "--force", "--out", str(out)] + (["--config", str(config)] if config else [])
    started = time.perf_counter()
    subprocess.run(command, cwd=root, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(root)),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started, json.loads((out / "results.json").read_text(encoding="utf-8"))


def per_handin(results: list[dict]) -> list[float]:
    """Seconds per hand-in that has fitting code."""
    return [r["duration_s"] for r in results
            if any(c["id"] == "function_fitting.runs" and not c["message"].startswith("no function-fitting")
                   for c in r["checks"])]


def verdicts(results: list[dict]) -> dict[tuple[str, str], tuple[float, bool]]:
    return {(r["submission"], c["id"]): (c["score"], bool(c.get("needs_human"))) for r in results for c in r["checks"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--baseline", help="a commit to time beside this dlgrade (e.g. the one before issue 22)")
    arguments = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        never = scratch / "never_settle.toml"
        never.write_text("[fitting]\nsettle_r2 = 2.0\n", encoding="utf-8")
        runs = [("early stop", REPO, None), ("no early stop", REPO, never)]
        if arguments.baseline:
            tree = scratch / "baseline"
            subprocess.run(["git", "worktree", "add", "--detach", str(tree), arguments.baseline], cwd=REPO,
                           check=True, capture_output=True)
            runs.append((f"dlgrade at {arguments.baseline}", tree, None))
        try:
            for label, root, config in runs:
                seconds, results = grade(root, arguments.corpus, scratch / label.replace(" ", "_"), config)
                rows.append((label, seconds, per_handin(results), results))
        finally:
            if arguments.baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(scratch / "baseline")], cwd=REPO,
                               capture_output=True)
    reference = rows[0]
    print(f"{'run':28s} {'batch s':>8s} {'median s':>9s} {'max s':>7s}  ratio to early stop (batch, median)")
    for label, seconds, times, _ in rows:
        print(f"{label:28s} {seconds:8.1f} {statistics.median(times):9.1f} {max(times):7.1f}  "
              f"{seconds / reference[1]:.2f}x, {statistics.median(times) / statistics.median(reference[2]):.2f}x")
    changed = {key: (a, verdicts(rows[1][3]).get(key)) for key, a in verdicts(reference[3]).items()
               if verdicts(rows[1][3]).get(key) != a}
    print(f"checks whose verdict differs with and without early stopping: {len(changed)}")
    for (handin, check), (on, off) in sorted(changed.items()):
        print(f"    {handin} {check}: early stop {on}, none {off}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
