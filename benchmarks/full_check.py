"""A real hand-in's full check (all four parts), two hand-ins at once, this checkout beside an older one.

Runs `python -m grader check FOLDER --format json` over a sample of a class's hand-ins, two at a
time (two students checking their work on one 2-core machine), with this checkout and, given
`--baseline DIR` (an older checkout, e.g. `git worktree add /tmp/base cba71b9`), with that one,
alternating which goes first pair by pair, so that a machine shared with other work slows both
alike. Prints each checkout's median and maximum wall time per hand-in (what a student waits
for: the process, start-up included) and median CPU time (benchmarks/tree_cpu.py), their ratios,
and every check whose score or `needs_human` flag differs between the two.

    python benchmarks/full_check.py --baseline /tmp/base [--corpus ../shared/corpus] [--sample 16]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tree_cpu

REPO = Path(__file__).resolve().parent.parent


def check(checkout: Path, folder: Path) -> tuple[float, float | None, dict]:
    """Wall and CPU time (the whole process tree's) of one `check` of `checkout`'s grader on `folder`, and
    its results."""
    wall, cpu, done = tree_cpu.run([sys.executable, "-m", "grader", "check", str(folder), "--format", "json"],
                                   cwd=checkout, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(checkout)),
                                   capture_output=True, text=True, check=False)
    try:
        return wall, cpu, json.loads(done.stdout)
    except ValueError:
        return wall, cpu, {"error": done.stderr[-500:]}


def verdicts(result: dict) -> dict[str, tuple[float, bool]]:
    return {c["id"]: (c["score"], bool(c.get("needs_human"))) for c in result.get("checks", [])}


def sample(corpus: Path, size: int) -> list[Path]:
    """`size` hand-ins spread evenly over the class in name order (every one with size 0)."""
    folders = sorted(p for p in corpus.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not size or size >= len(folders):
        return folders
    return [folders[round(i * len(folders) / size)] for i in range(size)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--baseline", type=Path, help="an older checkout to time beside this one")
    parser.add_argument("--sample", type=int, default=16, help="hand-ins to check (0: all)")
    parser.add_argument("--at-once", type=int, default=2, help="hand-ins checked at the same time")
    arguments = parser.parse_args(argv)
    checkouts = [REPO] + ([arguments.baseline.resolve()] if arguments.baseline else [])
    folders = sample(arguments.corpus, arguments.sample)
    times: dict[Path, list[float]] = {c: [] for c in checkouts}
    cpus: dict[Path, list[float]] = {c: [] for c in checkouts}
    results: dict[Path, dict[str, dict]] = {c: {} for c in checkouts}
    with ThreadPoolExecutor(arguments.at_once) as pool:
        for turn, start in enumerate(range(0, len(folders), arguments.at_once)):
            group = folders[start:start + arguments.at_once]
            for checkout in checkouts if turn % 2 == 0 else checkouts[::-1]:
                for folder, (seconds, cpu, result) in zip(group, pool.map(lambda f: check(checkout, f), group)):
                    times[checkout].append(seconds)
                    cpus[checkout] += [cpu] if cpu is not None else []
                    results[checkout][folder.name] = result
            print(f"  {start + len(group)}/{len(folders)} hand-ins", file=sys.stderr)
    first = checkouts[0]
    print(f"{len(folders)} hand-ins of {arguments.corpus}, {arguments.at_once} at a time, all four parts")
    print(f"{'checkout':24s} {'median s':>9s} {'max s':>7s} {'mean s':>7s} {'CPU median s':>13s}  "
          "ratio to this checkout (median, max, CPU median)")
    for checkout in checkouts:
        seconds, cpu = times[checkout], cpus[checkout]
        cpu_median = statistics.median(cpu) if cpu else float("nan")
        cpu_ratio = cpu_median / statistics.median(cpus[first]) if cpu and cpus[first] else float("nan")
        print(f"{str(checkout):24s} {statistics.median(seconds):9.1f} {max(seconds):7.1f} {statistics.mean(seconds):7.1f} "
              f"{cpu_median:13.1f}  {statistics.median(seconds) / statistics.median(times[first]):.2f}x, "
              f"{max(seconds) / max(times[first]):.2f}x, {cpu_ratio:.2f}x")
    for checkout in checkouts[1:]:
        changed = [(name, check_id, verdicts(results[first][name]).get(check_id), verdict)
                   for name, result in results[checkout].items()
                   for check_id, verdict in verdicts(result).items()
                   if verdicts(results[first][name]).get(check_id) != verdict]
        print(f"checks whose score or needs_human differs from {checkout}: {len(changed)}")
        for name, check_id, ours, theirs in changed:
            print(f"    {name} {check_id}: this checkout {ours}, {checkout.name} {theirs}")
    errors = [(c.name, n) for c in checkouts for n, r in results[c].items() if "error" in r]
    for checkout, name in errors:
        print(f"no JSON from {checkout} on {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
