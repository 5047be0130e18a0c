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
    check.add_argument("--html", type=Path, metavar="FILE", help="also write the HTML report (one PATH only)")
    check.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML, one testcase per check")
    check.add_argument("--gradescope", type=Path, metavar="FILE",
                       help="also write Gradescope's results.json (one PATH only)")
    check.add_argument("--out", type=Path, metavar="DIR",
                       help="also write every report and export (HTML, CSV, JSON, JUnit, Gradescope) into DIR")
    batch = commands.add_parser("batch", help="grade a class: every immediate sub-folder of DIR is one student")
    batch.add_argument("root", type=Path, metavar="DIR")
    batch.add_argument("--out", type=Path, metavar="DIR", default=Path("reports"),
                       help="reports, exports and the gradebook (default: reports)")
    batch.add_argument("--gradebook", type=Path, metavar="FILE", help="SQLite gradebook (default: OUT/gradebook.sqlite)")
    batch.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                       help="hand-ins and sandboxed children in parallel (default: number of cores)")
    batch.add_argument("--force", action="store_true", help="re-grade every hand-in, changed or not")
    batch.add_argument("--only", action="append", metavar="NAME", default=[], help="grade only this student (repeatable)")
    batch.add_argument("--target", action="append", choices=list(TARGETS), metavar="NAME", help="grade only this target")
    batch.add_argument("--fast", action="store_true", help="skip the MNIST training checks")
    batch.add_argument("--handin-timeout", type=float, default=300.0, metavar="S",
                       help="wall-time cap per hand-in in seconds (default: 300)")
    batch.add_argument("--call-timeout", type=float, default=10.0, metavar="S",
                       help="wall-time cap per call of a student's function (default: 10)")
    batch.add_argument("--memory-mb", type=int, default=2048, metavar="MB",
                       help="memory cap of each sandboxed child (default: 2048)")
    batch.add_argument("--mnist", type=Path, metavar="NPZ", help="MNIST in Keras format instead of the shipped subset")
    report = commands.add_parser("report", help="render reports again from stored results, without grading")
    report.add_argument("results", type=Path, metavar="RESULTS.json",
                        help="a results contract (one document or a list), e.g. from --format json")
    report.add_argument("--out", type=Path, metavar="DIR", default=Path("reports"),
                        help="folder for the reports and exports (default: reports)")
    return parser


def _write_outputs(args: argparse.Namespace, documents: list[dict]) -> None:
    from grader.report.exports import gradescope, junit_xml
    from grader.report.html import submission_page
    from grader.report.write import as_json, write_atomically, write_reports

    if args.html:
        write_atomically(args.html, submission_page(documents[0]))
    if args.gradescope:
        write_atomically(args.gradescope, as_json(gradescope(documents[0])))
    if args.junit:
        write_atomically(args.junit, junit_xml(documents))
    if args.out:
        write_reports(documents, args.out)


def _report(args: argparse.Namespace) -> int:
    from grader.report.write import write_reports

    try:
        loaded = json.loads(args.results.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"dlgrade: cannot read results from {args.results}: {error}", file=sys.stderr)
        return EXIT_ERROR
    documents = loaded if isinstance(loaded, list) else [loaded]
    if not all(isinstance(d, dict) and "checks" in d and "submission" in d for d in documents):
        print(f"dlgrade: {args.results} is not a dlgrade results document (expected 'submission' and 'checks')",
              file=sys.stderr)
        return EXIT_ERROR
    reports = write_reports(documents, args.out)
    print(f"wrote {len(reports)} report{'s' * (len(reports) != 1)}, index.html, grades.csv, junit.xml "
          f"and results.json to {args.out}")
    return EXIT_PASSED


def _check(args: argparse.Namespace) -> int:
    missing = [str(p) for p in args.paths + ([args.mnist] if args.mnist else []) if not p.exists()]
    if missing:
        print(f"dlgrade: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_ERROR
    if len(args.paths) > 1 and (args.html or args.gradescope):
        print("dlgrade: --html and --gradescope take one PATH; use --out DIR for several", file=sys.stderr)
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
        targets = _selected_targets(args)
        for path in args.paths:
            result = grader.grade(path, targets)
            results.append(result)
            if args.format == "table":
                render(result, console)
    documents = [r.to_dict() for r in results]
    _write_outputs(args, documents)
    if args.format == "json":
        json.dump(documents[0] if len(documents) == 1 else documents, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    if any(r.internal_errors for r in results):
        return EXIT_ERROR
    return EXIT_PASSED if all(r.passed for r in results) else EXIT_FAILED


def _selected_targets(args: argparse.Namespace) -> set[str]:
    targets = set(args.target or TARGETS)
    return targets - {"mnist_numpy", "mnist_tf"} if args.fast else targets


def _batch(args: argparse.Namespace) -> int:
    if not args.root.is_dir():
        print(f"dlgrade: no such folder: {args.root}", file=sys.stderr)
        return EXIT_ERROR
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from grader.sandbox.zygote import Zygote

    zygote = Zygote()  # first, as in `check`
    from rich.console import Console

    from grader.batch import BatchSettings, LocalWorkers, run_batch
    from grader.gradebook import Gradebook
    from grader.report.terminal import BatchProgress
    from grader.sandbox.jobs import Limits

    settings = BatchSettings(targets=tuple(sorted(_selected_targets(args))), handin_timeout=args.handin_timeout,
                             limits=Limits(call_timeout=args.call_timeout, memory_mb=args.memory_mb),
                             mnist=str(args.mnist.resolve()) if args.mnist else None)
    console = Console(highlight=False, stderr=True)
    with Gradebook(args.gradebook or args.out / "gradebook.sqlite") as gradebook, BatchProgress(console) as progress:
        summary = run_batch(args.root, args.out, settings, lambda: LocalWorkers(settings, args.workers, zygote),
                            gradebook, force=args.force, only=args.only, progress=progress)
    zygote.close()
    print(summary.line())
    return EXIT_ERROR if summary.grader_errors else EXIT_PASSED


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"report": _report, "batch": _batch, "check": _check}[args.command](args)
    except KeyboardInterrupt:
        return EXIT_ERROR
