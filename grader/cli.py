"""Command line. `dlgrade check [PATH...]` grades hand-ins and exits 0 (all passed), 1 (a check
failed) or 2 (usage, configuration or internal error); `batch` grades a class, `report` renders
stored results again, `init-ci` writes a CI workflow; `override` and `review` record decisions made by
hand (grader/review)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from grader import i18n
from grader.i18n import LANGUAGES, _, ntr, tr
from grader.intake import SYSTEMS
from grader.targets import TARGETS, TRAINING_TARGETS

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def _add_selection(command: argparse.ArgumentParser) -> None:
    command.add_argument("--part", type=int, action="append", choices=(1, 2, 3, 4),
                         help=_("grade only this part of the homework (repeatable)"))
    command.add_argument("--target", action="append", choices=list(TARGETS), metavar="NAME",
                         help=_("grade only this target (repeatable): ") + ", ".join(TARGETS))
    command.add_argument("--fast", action="store_true",
                         help=_("skip the checks that train models (MNIST, function fitting)"))
    command.add_argument("--config", type=Path, metavar="TOML",
                         help=_("course configuration (default: ./dlgrade.toml if present, else the shipped one)"))
    command.add_argument("--mnist", type=Path, metavar="NPZ",
                         help=_("MNIST in Keras format (e.g. ~/.keras/datasets/mnist.npz) instead of the shipped "
                                "subset"))
    command.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                         help=_("sandboxed children in parallel (default: number of cores)"))
    _add_language(command)


def _add_language(command: argparse.ArgumentParser) -> None:
    command.add_argument("--lang", choices=LANGUAGES,
                         help=_("language of messages, hints and reports (default: the configuration's `language`, "
                                "else zh for a zh_* locale, else en); JSON ids and check names stay English"))


def _use_language(args: argparse.Namespace, configured: str | None) -> None:
    """Speak the language `--lang` names, else the configuration's, else the locale's, from here on."""
    i18n.use(i18n.resolve(getattr(args, "lang", None), configured))


def _flag_language(argv: list[str]) -> str | None:
    """The language `--lang X` (or `--lang=X`) asks for, read before the parser exists so that its
    help is worded in it too; anything else is left to the parser to refuse."""
    for index, word in enumerate(argv):
        value = word.split("=", 1)[1] if word.startswith("--lang=") else \
            argv[index + 1] if word == "--lang" and index + 1 < len(argv) else None
        if value in LANGUAGES:
            return value
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlgrade", description=_("Command line. `dlgrade check [PATH...]` grades "
                                                                   "hand-ins and exits 0 (all passed), 1 (a check "
                                                                   "failed) or 2 (usage, configuration or internal "
                                                                   "error)"))
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help=_("grade hand-ins (folders or files; default: the current folder)"))
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH", default=[Path(".")])
    check.add_argument("--format", choices=("table", "json", "markdown"), default="table",
                       help=_("table for people (default), json for programs (the results contract), markdown for CI"))
    _add_selection(check)
    check.add_argument("--show-hidden", action="store_true", help=_("show what hidden checks test (instructors)"))
    check.add_argument("--profile", action="store_true",
                       help=_("print where the wall time went (start-up, zygote, each job, references, reports) to "
                              "stderr"))
    check.add_argument("--submitted-at", type=datetime.fromisoformat, metavar="ISO",
                       help=_("submission time for the late penalty (default: newest graded file's time)"))
    check.add_argument("--html", type=Path, metavar="FILE", help=_("also write the HTML report (one PATH only)"))
    check.add_argument("--junit", type=Path, metavar="FILE", help=_("also write JUnit XML, one testcase per check"))
    check.add_argument("--gradescope", type=Path, metavar="FILE",
                       help=_("also write Gradescope's results.json (one PATH only)"))
    check.add_argument("--out", type=Path, metavar="DIR",
                       help=_("also write every report and export (HTML, CSV, JSON, JUnit, Gradescope) into DIR"))

    batch = commands.add_parser("batch", help=_("grade a class: a folder of student folders, or what an LMS or GitHub "
                                                "Classroom hands over (a zip or a folder)"))
    batch.add_argument("root", type=Path, metavar="PATH")
    batch.add_argument("--intake", choices=SYSTEMS,
                       help=_("read PATH as this system's download instead of recognising it"))
    batch.add_argument("--submitted-at", type=Path, metavar="CSV", dest="times",
                       help=_("submission times (student id, ISO 8601 time per row); they override the system's"))
    batch.add_argument("--at-deadline", action="store_true",
                       help=_("git clones: grade the last commit at or before [late] due (also [late] at_deadline)"))
    batch.add_argument("--out", type=Path, metavar="DIR", default=Path("reports"),
                       help=_("reports, exports and the gradebook (default: reports)"))
    batch.add_argument("--gradebook", type=Path, metavar="FILE",
                       help=_("SQLite gradebook (default: OUT/gradebook.sqlite)"))
    batch.add_argument("--force", action="store_true", help=_("re-grade every hand-in, changed or not"))
    batch.add_argument("--only", action="append", metavar="NAME", default=[],
                       help=_("grade only this student (repeatable)"))
    _add_selection(batch)
    batch.add_argument("--handin-timeout", type=float, metavar="S", help=_("wall-time cap per hand-in (config: 300 s)"))
    batch.add_argument("--call-timeout", type=float, metavar="S",
                       help=_("cap per call of a student's function (config: 10 s)"))
    batch.add_argument("--memory-mb", type=int, metavar="MB", help=_("memory cap of each sandboxed child (config: 2048)"))
    batch.add_argument("--scheduler", metavar="ADDRESS",
                       help=_("grade on a Dask cluster: a scheduler address (tcp://host:8786), or local:N for a "
                              "LocalCluster of N worker processes (needs pip install 'dlgrade[dask]')"))
    batch.add_argument("--roster", type=Path, metavar="CSV", help=_("join hand-ins to the students of this roster"))
    batch.add_argument("--roster-key", metavar="COLUMN", help=_("the roster column holding each student's folder name "
                                                                "or id (default: the column that holds the ids the "
                                                                "LMS or GitHub gave, e.g. Canvas ID)"))
    batch.add_argument("--folder-prefix", default="", metavar="PREFIX",
                       help=_("strip this from folder names before matching (GitHub Classroom: e.g. hw1-)"))
    batch.add_argument("--zero-missing", action="store_true", help=_("give roster students without a hand-in a 0 row"))
    batch.add_argument("--export", action="append", choices=("canvas", "moodle"), default=[],
                       help=_("also write the gradebook CSV this LMS imports, with the ids that came in (a plain folder "
                              "of student folders needs --roster; repeatable)"))
    batch.add_argument("--assignment", default="dlgrade", metavar="NAME",
                       help=_("the LMS assignment column, e.g. 'HW1 (1234)' for Canvas (default: dlgrade)"))
    batch.add_argument("--no-similarity", action="store_true",
                       help=_("skip the similarity report across the class (similarity.csv, flagged pairs)"))

    report = commands.add_parser("report", help=_("render reports again from stored results, without grading"))
    report.add_argument("results", type=Path, metavar="RESULTS.json",
                        help=_("a results contract (one document or a list), e.g. from --format json"))
    report.add_argument("--out", type=Path, metavar="DIR", default=Path("reports"),
                        help=_("folder for the reports and exports (default: reports)"))
    report.add_argument("--no-similarity", action="store_true", help=_("skip the similarity report across the hand-ins"))
    report.add_argument("--config", type=Path, metavar="TOML",
                        help=_("course configuration (its [similarity] thresholds and `language`)"))
    report.add_argument("--gradebook", type=Path, metavar="FILE",
                        help=_("apply the review decisions of this gradebook (default: gradebook.sqlite in --out or "
                               "beside RESULTS.json, when there is one)"))
    _add_language(report)

    bundle = commands.add_parser("gradescope-bundle", help=_("write the autograder zip for Gradescope (dlgrade inside)"))
    bundle.add_argument("--out", type=Path, metavar="ZIP", default=Path("autograder.zip"),
                        help=_("default: autograder.zip"))
    bundle.add_argument("--config", type=Path, metavar="TOML", help=_("the course configuration to grade with"))

    from grader.review.commands import add_commands

    add_commands(commands)

    init_ci = commands.add_parser("init-ci", help=_("write a GitHub Actions workflow that runs dlgrade on every push"))
    init_ci.add_argument("repo", nargs="?", type=Path, default=Path("."),
                         help=_("the submission repository (default: .)"))
    init_ci.add_argument("--package", default="dlgrade",
                         help=_("what the workflow pip-installs (a pin, wheel URL or git URL; default: dlgrade)"))
    init_ci.add_argument("--python", default="3.11", help=_("Python version in CI (default: 3.11)"))
    init_ci.add_argument("--fast", action="store_true",
                         help=_("skip the checks that train models (MNIST, function fitting) in CI"))
    init_ci.add_argument("--force", action="store_true", help=_("replace an existing workflow"))
    return parser


def _fail(message: str) -> int:
    print(f"dlgrade: {message}", file=sys.stderr)
    return EXIT_ERROR


def _selected_targets(args: argparse.Namespace) -> set[str]:
    targets = set(args.target or TARGETS)
    if args.part:
        targets &= {name for name, target in TARGETS.items() if target.part in args.part}
    return targets - TRAINING_TARGETS if args.fast else targets


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


def _print_documents(args: argparse.Namespace, documents: list[dict]) -> None:
    if args.format == "json":
        json.dump(documents[0] if len(documents) == 1 else documents, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.format == "markdown":
        from grader.report.markdown import summary

        sys.stdout.write("\n".join(summary(d) for d in documents))


def _check(args: argparse.Namespace) -> int:
    from grader import profile
    from grader.config import ConfigError, load_config

    if args.profile:
        profile.enable()
    missing = [str(p) for p in args.paths + ([args.mnist] if args.mnist else []) if not p.exists()]
    if missing:
        return _fail(tr("no such file or folder: {paths}", paths=", ".join(missing)))
    if len(args.paths) > 1 and (args.html or args.gradescope):
        return _fail(_("--html and --gradescope take one PATH; use --out DIR for several"))
    try:
        config = load_config(args.config)
    except ConfigError as error:
        return _fail(str(error))
    _use_language(args, config.language)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from grader.sandbox.zygote import Zygote

    zygote = Zygote()  # first: its TensorFlow import overlaps all that follows
    from rich.console import Console

    from grader import scoring
    from grader.pipeline import Grader
    from grader.report.terminal import render

    console = Console(highlight=False)
    results = []
    with Grader(workers=args.workers, mnist=args.mnist, zygote=zygote, config=config) as grader:
        for path in args.paths:
            submitted_at = args.submitted_at.astimezone() if args.submitted_at else None
            result = grader.grade(path, _selected_targets(args), submitted_at=submitted_at)
            results.append(result)
            if args.format == "table":
                render(result, console, show_hidden=args.show_hidden)
    documents = [r.to_dict() for r in results]
    if not args.show_hidden:
        documents = [scoring.redact_hidden(d) for d in documents]
    reporting = profile.now()
    _write_outputs(args, documents)
    _print_documents(args, documents)
    profile.mark("reports written and printed", reporting)
    if args.profile:
        print(profile.render(), file=sys.stderr)
    if any(r.internal_errors for r in results):
        return EXIT_ERROR
    return EXIT_PASSED if all(r.passed for r in results) else EXIT_FAILED


def _batch(args: argparse.Namespace) -> int:
    from grader.config import ConfigError, load_config

    if not args.root.exists():
        return _fail(tr("no such file or folder: {paths}", paths=args.root))
    try:
        config = load_config(args.config)
    except ConfigError as error:
        return _fail(str(error))
    _use_language(args, config.language)
    if args.roster and not args.roster.is_file():
        return _fail(tr("cannot read the roster {path}: {error}", path=args.roster, error=_("no such file")))
    from grader.intake import IntakeError

    try:
        intake = _take_in(args, config)
    except IntakeError as error:
        return _fail(str(error))
    print(intake.summary())
    for note in intake.notes:
        print(f"  {note}", file=sys.stderr)
    roster = None
    if args.roster or args.export:
        from grader.roster import Roster, RosterError, RosterOptions

        if intake.system == "folders" and not (args.roster and args.roster_key):
            return _fail(_("--roster needs --roster-key COLUMN, and --export needs --roster"))
        if not args.roster:
            args.roster = _students_file(intake, args.out)
        try:
            roster = RosterOptions(Roster.read(args.roster, args.roster_key, args.folder_prefix, intake.system),
                                   args.zero_missing, tuple(args.export), args.assignment)
        except RosterError as error:
            return _fail(str(error))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.scheduler:
        try:
            import distributed  # noqa: F401
        except ImportError:
            from grader.distributed import INSTALL_HINT

            return _fail(_(INSTALL_HINT))
        zygote = None  # each Dask worker starts its own
    else:
        from grader.sandbox.zygote import Zygote

        zygote = Zygote()  # first, as in `check`
    from dataclasses import replace

    from rich.console import Console

    from grader.batch import BatchSettings, LocalWorkers, run_batch
    from grader.gradebook import Gradebook
    from grader.pipeline import limits_from
    from grader.report.terminal import BatchProgress

    limits = limits_from(config)
    limits = replace(limits, call_timeout=args.call_timeout or limits.call_timeout,
                     memory_mb=args.memory_mb or limits.memory_mb)
    settings = BatchSettings(targets=tuple(sorted(_selected_targets(args))), limits=limits,
                             handin_timeout=args.handin_timeout or config.limits["handin_timeout"],
                             mnist=str(args.mnist.resolve()) if args.mnist else None, config=config,
                             language=i18n.active())
    from grader.similarity import SimilaritySettings

    similarity = None if args.no_similarity else SimilaritySettings.from_config(config.similarity)
    console = Console(highlight=False, stderr=True)
    def workers():
        if args.scheduler:
            from grader.distributed import DaskWorkers

            return DaskWorkers(settings, args.scheduler)
        return LocalWorkers(settings, args.workers, zygote)

    roster_settings = None
    if roster is not None:
        from grader.report.reviewed import roster_meta

        roster_settings = roster_meta(args.roster, args.roster_key, args.folder_prefix, args.zero_missing,
                                      tuple(args.export), args.assignment, system=intake.system)
    with Gradebook(args.gradebook or args.out / "gradebook.sqlite") as gradebook, BatchProgress(console) as progress:
        summary = run_batch(args.root, args.out, settings, workers, gradebook, force=args.force, only=args.only,
                            progress=progress, similarity=similarity, roster=roster, roster_settings=roster_settings,
                            intake=intake)
    if zygote is not None:
        zygote.close()
    print(summary.line())
    return EXIT_ERROR if summary.grader_errors or summary.stopped else EXIT_PASSED


def _take_in(args: argparse.Namespace, config):
    """The intake stage: recognise and read the download (IntakeError before anything is written when it
    is ambiguous or unrecognised), materialise its hand-ins under --out, and apply --submitted-at."""
    from grader.intake import IntakeError, IntakeOptions
    from grader.intake.moodle import is_worksheet
    from grader.intake.stage import take_in
    from grader.intake.times import apply_times, read_times

    due = config.late.due
    at_deadline = args.at_deadline or getattr(config.late, "at_deadline", False)
    if at_deadline and due is None:
        raise IntakeError(_("--at-deadline needs [late] due in the course configuration"))
    worksheet = args.roster if args.roster and is_worksheet(args.roster) else None
    options = IntakeOptions(zone=due.tzinfo if due else None, worksheet=worksheet,
                            deadline=due if at_deadline else None, prefix=args.folder_prefix,
                            exclude=(args.out,))
    if args.times:
        read_times(args.times)  # refuse a bad file before anything is written
    intake = take_in(args.root, args.out, options, forced=args.intake, limits=_archive_limits(config))
    if args.times:
        apply_times(intake, args.times)
    return intake


def _archive_limits(config):
    """The course's archive caps ([intake])."""
    from grader.intake.archives import limits_from_config

    return limits_from_config(config)


def _students_file(intake, out: Path) -> Path:
    """--out/intake/students.csv: the intake's students as a roster in their system's columns."""
    from grader.intake.stage import SCRATCH
    from grader.intake.students import FILE, students_csv
    from grader.report.write import write_atomically

    path = out / SCRATCH / FILE
    write_atomically(path, students_csv(intake))
    return path


def _report(args: argparse.Namespace) -> int:
    from grader.config import ConfigError, load_config
    from grader.report.write import write_reports
    from grader.similarity import SimilaritySettings

    try:
        config = load_config(args.config)
    except ConfigError as error:
        return _fail(str(error))
    _use_language(args, config.language)  # the pages' own words; stored messages keep the language they were graded in
    try:
        loaded = json.loads(args.results.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return _fail(tr("cannot read results from {file}: {error}", file=args.results, error=error))
    documents = loaded if isinstance(loaded, list) else [loaded]
    if not all(isinstance(d, dict) and "checks" in d and "submission" in d for d in documents):
        return _fail(tr("{file} is not a dlgrade results document (expected 'submission' and 'checks')",
                        file=args.results))
    similarity = None
    if len(documents) > 1 and not args.no_similarity:
        similarity = SimilaritySettings.from_config(config.similarity)
    beside = (args.out / "gradebook.sqlite", args.results.parent / "gradebook.sqlite")
    gradebook = args.gradebook or next((p for p in beside if p.is_file()), None)
    if gradebook is not None:
        documents = _reviewed(documents, gradebook)
        if documents is None:
            return _fail(tr("no gradebook at {file}", file=args.gradebook))
    reports = write_reports(documents, args.out, similarity)
    print(ntr("wrote {count} report, index.html, grades.csv, junit.xml and results.json to {out}",
              "wrote {count} reports, index.html, grades.csv, junit.xml and results.json to {out}", len(reports),
              out=args.out))
    return EXIT_PASSED


def _reviewed(documents: list[dict], path: Path) -> list[dict] | None:
    """The documents with the review decisions of the gradebook at `path` applied (None: no gradebook)."""
    from grader import overrides
    from grader.gradebook import Gradebook

    if not path.is_file():
        return None
    with Gradebook(path) as gradebook:
        decisions = overrides.latest(gradebook.decisions())
        return [overrides.apply(d, decisions, gradebook.inputs(str(d["submission"]))) for d in documents]


def _gradescope_bundle(args: argparse.Namespace) -> int:
    from grader.config import ConfigError, load_config
    from grader.gradescope_bundle import write_bundle

    if args.config is not None:
        try:
            load_config(args.config)  # refuse a configuration that would fail on every submission
        except ConfigError as error:
            return _fail(str(error))
    try:
        out = write_bundle(args.out, args.config)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        return _fail(tr("could not build the bundle: {error}", error=error))
    print(tr("wrote {file}: upload it as the autograder of a Gradescope programming assignment", file=out))
    return EXIT_PASSED


def _init_ci(args: argparse.Namespace) -> int:
    from grader.ci_template import write_workflow

    if not args.repo.is_dir():
        return _fail(tr("no such folder: {folder}", folder=args.repo))
    try:
        written = write_workflow(args.repo, args.package, args.python, args.fast, args.force)
    except FileExistsError as error:
        return _fail(str(error))
    print(tr("wrote {file}: commit it, and every push is graded (see docs/student.md for GitLab CI)", file=written))
    return EXIT_PASSED


def main(argv: list[str] | None = None) -> int:
    i18n.use(i18n.resolve(_flag_language(sys.argv[1:] if argv is None else argv), None))  # until the course file is read
    args = _parser().parse_args(argv)
    from grader.review.commands import override, review

    commands = {"check": _check, "batch": _batch, "report": _report, "gradescope-bundle": _gradescope_bundle,
                "init-ci": _init_ci, "override": override, "review": review}
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        return EXIT_ERROR
