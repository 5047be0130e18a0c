"""Batch grading cost, side by side in one run: warm workers (`dlgrade batch`) against a fresh
`dlgrade check` process per hand-in, and against executing the notebooks top to bottom with
nbclient (how nbgrader and Otter grade).

Generates N hand-ins (60% correct, 20% the seed student's, 10% buggy Part 1, 10% broken),
then prints per-hand-in costs and ratios. The baselines run on a few hand-ins (--baseline-n),
two at a time like the batch's two workers. Targets (issue 6): N=100 fully graded in under
5 minutes; marginal cost of the Part 1 + 2 checks under 0.5 s per hand-in.

    python benchmarks/batch.py [--n 100] [--baseline-n 4] [--workers 2] [--skip-nbclient]

With `--compare DIR ...`, it instead times `dlgrade batch` of this checkout and of each older checkout
DIR (e.g. `git worktree add /tmp/old9b 9b37a63`) on the same generated class, alternating them for
`--rounds` rounds so that a machine shared with other work slows all of them alike; it prints each
one's wall and CPU times (benchmarks/tree_cpu.py), its ratios to this checkout, and every check whose
score differs from this checkout's (`--part` repeatable: only those parts).

    python benchmarks/batch.py --compare /tmp/old9b [--n 20] [--rounds 2] [--part 1 --part 2 --part 3]

With `--scheduler local`, it instead measures Dask (issue 14): hand-ins per second of the local batch
and of `--scheduler local:N` (one grading slot per Dask worker) for N = 1 and 2, in one run, with
the scaling from 1 to 2 workers (target >= 1.6x) and Dask's cost next to a local batch with the
same number of slots (target <= 15% more per hand-in). Cluster and zygote start-up count, as an
instructor waits for them; every check by default (`--fast`: Parts 1 and 2 only).

nbclient and ipykernel are benchmark-only dependencies: `pip install nbclient ipykernel`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tree_cpu

REPO = Path(__file__).resolve().parent.parent
MIX = ["correct"] * 6 + ["seed_student"] * 2 + ["buggy_part1", "broken"]


def make_class(root: Path, n: int) -> list[Path]:
    """n hand-ins copied from the examples, each made unique by a comment (so none is a cache hit)."""
    handins = []
    for i in range(n):
        folder = root / f"student_{i:03d}"
        shutil.copytree(REPO / "submissions" / MIX[i % len(MIX)], folder)
        (folder / "README.md").unlink(missing_ok=True)
        (folder / f"note_{i}.py").write_text(f"# hand-in {i}\n", encoding="utf-8")
        handins.append(folder)
    return handins


def env() -> dict[str, str]:
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def timed_batch(root: Path, out: Path, workers: int, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "batch", str(root), "--out", str(out), "--workers", str(workers),
                    "--force", *extra], env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def scores(out: Path) -> dict[tuple[str, str], float]:
    """(hand-in, check id) -> score of a batch's results.json."""
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {(r["submission"], c["id"]): c["score"] for r in results for c in r["checks"]}


def compare(checkouts: list[Path], n: int, rounds: int, workers: int, parts: list[str]) -> None:
    """`dlgrade batch` of each checkout on one class, alternated over `rounds`: wall and CPU times (the
    CPU time of the whole process tree: on a shared machine the steadier of the two), ratios, score changes."""
    extra = [argument for part in parts for argument in ("--part", part)]
    times: dict[Path, list[tuple[float, float | None]]] = {c: [] for c in checkouts}
    graded: dict[Path, dict] = {}
    with tempfile.TemporaryDirectory(prefix="dlgrade-bench-") as tmp:
        root = Path(tmp)
        make_class(root / "class", n)
        for turn in range(rounds):
            for index, checkout in enumerate(checkouts if turn % 2 == 0 else checkouts[::-1]):
                out = root / f"out-{turn}-{index}"
                wall, cpu, _ = tree_cpu.run(
                    [sys.executable, "-m", "grader", "batch", str(root / "class"), "--out", str(out), "--workers",
                     str(workers), "--force", "--no-similarity", *extra], cwd=checkout,
                    env=dict(env(), PYTHONPATH=str(checkout)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    check=True)
                times[checkout].append((wall, cpu))
                graded.setdefault(checkout, scores(out))
    first = checkouts[0]
    print(f"hand-ins: {n} (parts {', '.join(parts) or 'all'}), workers: {workers}, rounds: {rounds}")
    for checkout in checkouts:
        wall = statistics.mean(w for w, _ in times[checkout])
        cpus = [c for _, c in times[checkout] if c is not None]
        first_cpus = [c for _, c in times[first] if c is not None]
        cpu = f"CPU mean {statistics.mean(cpus):6.1f} s ({statistics.mean(cpus) / statistics.mean(first_cpus):.2f}x)" \
            if cpus and first_cpus else "CPU not measurable here"
        changed = sorted(k for k, v in graded[checkout].items() if graded[first].get(k) != v)
        print(f"{str(checkout):24s} wall {' '.join(f'{w:6.1f}' for w, _ in times[checkout])} s, mean {wall:6.1f} s "
              f"({wall / statistics.mean(w for w, _ in times[first]):.2f}x); {cpu}; scores differing: {len(changed)}")
        for handin, check in changed[:10]:
            print(f"    {handin} {check}: {graded[first].get((handin, check))} -> {graded[checkout][(handin, check)]}")


def timed_parallel(commands: list[list[str]], workers: int, cwd: Path | None = None, environ: dict | None = None) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda c: subprocess.run(c, cwd=cwd, env=environ or env(), stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL, check=False), commands))
    return time.perf_counter() - started


def keras_mnist(home: Path) -> None:
    """~/.keras/datasets/mnist.npz (the shipped subset is in Keras format), so the notebooks' own
    load_data() works offline."""
    target = home / ".keras" / "datasets"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "grader" / "data" / "mnist_5k.npz", target / "mnist.npz")


NBCLIENT_RUN = """
import sys, nbformat
from nbclient import NotebookClient
for path in sys.argv[1:]:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, allow_errors=True, kernel_name="python3").execute()
"""


def dask_scaling(n: int, full: bool) -> None:
    """Hand-ins per second: local batch and Dask local:N, for 1 and 2 slots, side by side."""
    extra = [] if full else ["--fast"]
    with tempfile.TemporaryDirectory(prefix="dlgrade-bench-") as tmp:
        root = Path(tmp)
        make_class(root / "class", n)
        rates = {}
        for slots in (1, 2):
            rates[("local", slots)] = n / timed_batch(root / "class", root / f"local-{slots}", slots, *extra)
            rates[("dask", slots)] = n / timed_batch(root / "class", root / f"dask-{slots}", slots, *extra,
                                                     "--scheduler", f"local:{slots}")
    print(f"hand-ins: {n} ({'all checks' if full else 'Parts 1 + 2'}), cluster and zygote start-up included")
    for (kind, slots), rate in rates.items():
        print(f"{kind:5s} {slots} slot{'s' if slots > 1 else ' '}: {rate:5.2f} hand-ins/s")
    print(f"dask, 2 workers vs 1: {rates[('dask', 2)] / rates[('dask', 1)]:.2f}x   (target >= 1.6x)")
    for slots in (1, 2):
        print(f"dask cost per hand-in vs local batch, {slots} slot(s): "
              f"{rates[('local', slots)] / rates[('dask', slots)] - 1:+.0%}   (target <= +15%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--baseline-n", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-nbclient", action="store_true")
    parser.add_argument("--scheduler", choices=["local"], help="measure Dask's LocalCluster against the local batch")
    parser.add_argument("--fast", action="store_true", help="with --scheduler or --compare: only Parts 1 and 2")
    parser.add_argument("--compare", type=Path, nargs="+", metavar="DIR",
                        help="time older checkouts' `dlgrade batch` beside this one's, alternating")
    parser.add_argument("--rounds", type=int, default=2, help="with --compare: batches per checkout")
    parser.add_argument("--part", action="append", default=[], help="with --compare: only this part (repeatable)")
    args = parser.parse_args()
    if args.compare:
        compare([REPO, *(p.resolve() for p in args.compare)], args.n, args.rounds, args.workers, args.part)
        return
    if args.scheduler:
        dask_scaling(args.n, not args.fast)
        return
    with tempfile.TemporaryDirectory(prefix="dlgrade-bench-") as tmp:
        root = Path(tmp)
        handins = make_class(root / "class", args.n)
        quarter = make_class(root / "quarter", max(1, args.n // 4))
        full = timed_batch(root / "class", root / "out-full", args.workers)
        fast = timed_batch(root / "class", root / "out-fast", args.workers, "--fast")
        fast_quarter = timed_batch(root / "quarter", root / "out-quarter", args.workers, "--fast")
        marginal_fast = (fast - fast_quarter) / (args.n - len(quarter))
        sample = handins[:args.baseline_n]
        fresh = timed_parallel([[sys.executable, "-m", "grader", "check", str(h), "--format", "json", "--workers", "1"]
                                for h in sample], args.workers) / len(sample)
        print(f"hand-ins: {args.n} ({', '.join(sorted(set(MIX)))}), workers: {args.workers}")
        print(f"dlgrade batch, all checks:           {full:7.1f} s total, {full / args.n:5.2f} s per hand-in"
              f"   (target: {args.n} under 300 s)")
        print(f"dlgrade batch --fast (Parts 1 + 2):  {fast:7.1f} s total; marginal {marginal_fast:5.2f} s per hand-in"
              f"   (from {len(quarter)} vs {args.n} hand-ins; target < 0.5 s)")
        print(f"fresh `dlgrade check` per hand-in:   {fresh:7.2f} s per hand-in (on {len(sample)}, {args.workers} at a time)"
              f"   -> warm batch is {fresh / (full / args.n):.1f}x faster")
        if args.skip_nbclient:
            return
        try:
            import nbclient  # noqa: F401
        except ImportError:
            print("nbclient: not installed (pip install nbclient ipykernel); skipped")
            return
        home = root / "home"
        keras_mnist(home)
        commands = [[sys.executable, "-c", NBCLIENT_RUN, *map(str, sorted(h.glob("*.ipynb")))] for h in sample]
        notebooks = timed_parallel(commands, args.workers, environ=dict(env(), HOME=str(home))) / len(sample)
        print(f"nbclient, notebooks top to bottom:   {notebooks:7.2f} s per hand-in (on {len(sample)}, "
              f"{args.workers} at a time) -> warm batch is {notebooks / (full / args.n):.1f}x faster")


if __name__ == "__main__":
    main()
