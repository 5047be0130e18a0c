"""`dlgrade override` and `dlgrade review`: record a decision, list or move the queue and the
decisions, or start the review web app. Bad input exits 2 and writes nothing."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grader.i18n import LANGUAGES, _, tr

EXIT_OK, EXIT_ERROR = 0, 2
GRADEBOOK = "gradebook.sqlite"


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The `override` and `review` sub-commands."""
    override = commands.add_parser("override", help=_("set a check's score (or adjust a hand-in's total) by hand; "
                                                      "kept through re-grading while the student's work is unchanged"))
    override.add_argument("reports", type=Path, metavar="REPORTS_DIR", help=_("the --out folder of dlgrade batch"))
    override.add_argument("student", metavar="STUDENT", help=_("the hand-in's folder name"))
    override.add_argument("check", metavar="CHECK_ID",
                          help=_("a check id such as softmax.matches_tf, or `handin` to adjust the total"))
    override.add_argument("score", metavar="SCORE",
                          help=_("the new score (for `handin`: points added, may be negative), or `auto` to undo"))
    override.add_argument("--comment", default="", help=_("to the student, shown in their report"))
    override.add_argument("--note", default="", help=_("private to the reviewers"))
    _common(override)

    review = commands.add_parser("review", help=_("review by hand in a local web app, or list the review queue"))
    review.add_argument("reports", type=Path, metavar="REPORTS_DIR", help=_("the --out folder of dlgrade batch"))
    review.add_argument("--list", action="store_true", help=_("print the queue instead of starting the app"))
    review.add_argument("--format", choices=("table", "json"), default="table", help=_("of --list (default: table)"))
    review.add_argument("--export-overrides", type=Path, metavar="FILE.csv",
                        help=_("write every decision (the full history) to a CSV file"))
    review.add_argument("--import-overrides", type=Path, metavar="FILE.csv",
                        help=_("record the decisions of a CSV file (all rows are checked first; none is written if "
                               "one is bad)"))
    review.add_argument("--port", type=int, default=0, help=_("port on 127.0.0.1 (default: a free one)"))
    review.add_argument("--no-browser", action="store_true", help=_("print the address only"))
    _common(review)


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument("--by", metavar="NAME", help=_("who decides (default: your login name)"))
    command.add_argument("--config", type=Path, metavar="TOML",
                         help=_("course configuration (its [review] always list and the extra credit allowed)"))
    command.add_argument("--lang", choices=LANGUAGES, help=_("language of messages and pages"))


def _fail(message: str) -> int:
    print(f"dlgrade: {message}", file=sys.stderr)
    return EXIT_ERROR


def _open(args: argparse.Namespace):
    """(gradebook, config) of REPORTS_DIR, or an error message: nothing is created when it has no gradebook."""
    from grader import i18n
    from grader.config import ConfigError, load_config
    from grader.gradebook import Gradebook

    try:
        config = load_config(args.config)
    except ConfigError as error:
        return None, str(error)
    i18n.use(i18n.resolve(args.lang, config.language))
    path = args.reports / GRADEBOOK
    if not path.is_file():
        return None, tr("no gradebook in {folder} (expected {file}): grade the class with `dlgrade batch DIR --out "
                        "{folder}` first", folder=args.reports, file=path)
    return (Gradebook(path), config), None


def override(args: argparse.Namespace) -> int:
    """Record one decision, render that hand-in's report and the class files again."""
    from grader import overrides
    from grader.review.decisions import record, reviewer
    from grader.report.reviewed import reviewed_results

    opened, error = _open(args)
    if error:
        return _fail(error)
    gradebook, config = opened
    undo = args.score == "auto"
    try:
        score = None if undo else float(args.score)
    except ValueError:
        gradebook.close()
        return _fail(tr("SCORE must be a number or `auto`; got {score!r}", score=args.score))
    kind, subject = ("handin", overrides.HANDIN) if args.check == "handin" else ("check", args.check)
    request = overrides.Request(kind, args.student, subject, score, args.comment, args.note, reviewer(args.by),
                                undo=undo)
    with gradebook:
        before = reviewed_results(gradebook, [args.student]).get(args.student)
        try:
            record(gradebook, args.reports, [request], config)
        except overrides.OverrideError as problem:
            return _fail(str(problem))
        after = reviewed_results(gradebook, [args.student])[args.student]
    print(tr("recorded: {student} {check} -> {score}; total {before:g} -> {after:g} / {maximum:g}; reports in "
             "{folder} rendered again", student=args.student, check=args.check, score=args.score,
             before=float(before["score"]), after=float(after["score"]), maximum=float(after["max_score"]),
             folder=args.reports))
    return EXIT_OK


def review(args: argparse.Namespace) -> int:
    """--list, --export-overrides, --import-overrides, else the web app."""
    opened, error = _open(args)
    if error:
        return _fail(error)
    gradebook, config = opened
    with gradebook:
        if args.import_overrides:
            status = _import(args, gradebook, config)
            if status != EXIT_OK:
                return status
        if args.export_overrides:
            from grader.report.write import write_atomically
            from grader.review.decisions import export_csv

            write_atomically(args.export_overrides, export_csv(gradebook.decisions()))
            print(tr("wrote {count} decisions to {file}", count=len(gradebook.decisions()),
                     file=args.export_overrides))
        if args.list:
            _print_queue(args, gradebook, config)
        if args.list or args.import_overrides or args.export_overrides:
            return EXIT_OK
    from grader.review.server import serve

    return serve(args.reports, config, args.port, not args.no_browser, args.by or "")


def _import(args: argparse.Namespace, gradebook, config) -> int:
    from grader import overrides
    from grader.review.decisions import parse_csv, record, reviewer, validate_rows

    try:
        text = args.import_overrides.read_text(encoding="utf-8-sig")
        requests = parse_csv(text, reviewer(args.by))
        validate_rows(requests, gradebook, config)
        stored = record(gradebook, args.reports, requests, config)
    except OSError as problem:
        return _fail(tr("cannot read {file}: {error}", file=args.import_overrides, error=problem))
    except overrides.OverrideError as problem:
        return _fail(tr("{file}: {error}; nothing was imported", file=args.import_overrides, error=problem))
    print(tr("imported {count} new decisions from {file} ({same} already recorded)", count=len(stored),
             file=args.import_overrides, same=len(requests) - len(stored)))
    return EXIT_OK


def _print_queue(args: argparse.Namespace, gradebook, config) -> None:
    from grader.review.queue import build

    items = build(gradebook, config)
    if args.format == "json":
        json.dump([item.to_dict() for item in items], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=tr("review queue: {done} of {count} done", done=sum(i.status == "done" for i in items),
                           count=len(items)), expand=True)
    for column in (_("status"), _("kind"), _("submission"), _("check or pair"), _("reason")):
        table.add_column(column)
    for item in items:
        table.add_row(item.status, item.kind, item.submission, " / ".join(item.pair) if item.pair else item.check or "",
                      item.reason)
    Console(highlight=False).print(table)
