"""Command line: `dlgrade check PATH...` grades hand-ins and exits 0 (all passed), 1 (a check
failed) or 2 (usage or internal error)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from grader.targets import TARGETS

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlgrade", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="grade one or more hand-ins (folders or single files)")
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    check.add_argument("--format", choices=("table", "json"), default="table",
                       help="table for people (default), json for programs (the results contract)")
    check.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                       help="sandboxed children run in parallel (default: number of cores)")
    check.add_argument("--target", action="append", choices=list(TARGETS), metavar="NAME",
                       help="grade only this target (repeatable): " + ", ".join(TARGETS))
    check.add_argument("--fast", action="store_true", help="skip the MNIST training checks")
    check.add_argument("--mnist", type=Path, metavar="NPZ",
                       help="MNIST in Keras format (e.g. ~/.keras/datasets/mnist.npz) instead of the shipped subset")
    return parser


def _check(args: argparse.Namespace) -> int:
    missing = [str(p) for p in args.paths + ([args.mnist] if args.mnist else []) if not p.exists()]
    if missing:
        print(f"dlgrade: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_ERROR
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from grader.sandbox.zygote import Zygote

    zygote = Zygote()  # first: its TensorFlow import overlaps all that follows
    from rich.console import Console

    from grader.pipeline import Grader
    from grader.report.terminal import render

    console = Console(highlight=False)
    results = []
    with Grader(workers=args.workers, mnist=args.mnist, zygote=zygote) as grader:
        targets = set(args.target or TARGETS)
        if args.fast:
            targets -= {"mnist_numpy", "mnist_tf"}
        for path in args.paths:
            result = grader.grade(path, targets)
            results.append(result)
            if args.format == "table":
                render(result, console)
    if args.format == "json":
        documents = [r.to_dict() for r in results]
        json.dump(documents[0] if len(documents) == 1 else documents, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    if any(r.internal_errors for r in results):
        return EXIT_ERROR
    return EXIT_PASSED if all(r.passed for r in results) else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _check(args)
    except KeyboardInterrupt:
        return EXIT_ERROR
