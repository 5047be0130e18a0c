"""Batch grading of a class: one sub-folder per student, graded by warm workers, kept in a gradebook.

The coordinator (this module) decides what needs grading, hands each hand-in to a worker and
commits each result to the gradebook the moment it arrives, then writes that hand-in's report.
Workers only turn a path into a plain results dict (`grade_one`), so any executor with
`submit(handin) -> future` can run them: threads over one warm zygote here (LocalWorkers), or
the workers of a Dask cluster (grader/distributed.py).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from grader import __version__
from grader.discover import DEFAULT_MAX_FILE_BYTES, GRADED_SUFFIXES, find_sources, read_source
from grader.config import Config, load_config
from grader.gradebook import Gradebook
from grader.intake import Handin, Intake, IntakeOptions
from grader.intake import folders as plain_folders
from grader.intake.folders import student_folders
from grader import overrides
from grader.report import reviewed
from grader.report.write import remove_stale_temporaries, unique_slugs, write_submission
from grader.results import SubmissionResult
from grader import i18n
from grader.i18n import tr
from grader.sandbox.jobs import Limits, reports_timeout
from grader.roster import RosterOptions
from grader.similarity import SimilaritySettings

ERROR_KEY = "grader-error"  # stored for a hand-in the grader failed on, so that the next run retries it


@dataclass(frozen=True)
class BatchSettings:
    """Everything besides the hand-in's files that a grade depends on (part of the grader key)."""

    targets: tuple[str, ...]
    limits: Limits = Limits()
    handin_timeout: float = 300.0
    seed: int = 0
    mnist: str | None = None  # path of a Keras-format MNIST file instead of the shipped subset
    config: Config = field(default_factory=load_config)
    language: str = "en"  # of the messages stored in the gradebook: a re-run in another language re-grades

    def key(self) -> str:
        """Grader version, grading code and data, these settings and the course configuration:
        a change to any of them re-grades everyone."""
        digest = hashlib.sha256(__version__.encode())
        package = resources.files("grader")
        for path in sorted(Path(str(package)).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".json", ".npz", ".mo") and "report" not in path.parts:
                digest.update(path.relative_to(Path(str(package))).as_posix().encode())
                digest.update(path.read_bytes())
        settings = {k: v for k, v in asdict(self).items() if k != "config"} | {"config": self.config.fingerprint()}
        if self.mnist:
            settings["mnist"] = hashlib.sha256(Path(self.mnist).read_bytes()).hexdigest()
        digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
        return f"{__version__}+{digest.hexdigest()[:16]}"


def find_handins(root: Path, exclude: Collection[Path] = ()) -> list[Path]:
    """Immediate sub-folders of `root`, one per student, in name order (hidden ones and `exclude` skipped)."""
    return student_folders(root, exclude)


def content_hash(handin: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str:
    """sha256 over the names and bytes of the files dlgrade grades (a README edit re-grades nothing)."""
    digest = hashlib.sha256()
    for source in find_sources(handin, max_bytes, GRADED_SUFFIXES):
        digest.update(source.relative_to(handin).as_posix().encode() + b"\0")
        try:
            digest.update(read_source(source, max_bytes))
        except OSError as error:
            digest.update(f"unreadable: {error}".encode())
        digest.update(b"\0")
    return digest.hexdigest()


def handin_hash(handin: Handin, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str:
    """The content hash of a hand-in's files; from an LMS or git, its identity, time and intake problems
    too (a plain student folder keeps today's hash, so its gradebook stays current)."""
    files = content_hash(handin.folder, max_bytes)
    if handin.plain:
        return files
    return hashlib.sha256(f"{files}\0{handin.fingerprint()}".encode()).hexdigest()


def with_intake(result: dict, handin: Handin, config: Config) -> dict:
    """The results contract with who handed in and what intake read (`student`, `members`, `intake`), the
    reason a hand-in could not be read first among its notes, and the late penalty from the intake's time."""
    result["submission"] = handin.key
    result["student"] = handin.student.to_dict()
    if handin.members:
        result["members"] = [m.to_dict() for m in handin.members]
    result["intake"] = handin.record()
    if handin.error:
        result["notes"] = [handin.error] + list(result.get("notes", []))
    if not handin.plain:
        from grader import scoring

        scoring.retime(result, config, handin.submitted_at, handin.late_marker)
    return result


class WorkersLost(RuntimeError):
    """The executor can grade nothing more (the Dask scheduler went away): the batch ends early,
    keeping everything already graded; the next run grades the rest."""


@dataclass
class Summary:
    """Counts for the batch's closing line."""

    graded: int = 0
    unchanged: int = 0
    failed_to_load: int = 0
    timed_out: int = 0
    grader_errors: int = 0
    seconds: float = 0.0
    names: list[str] = field(default_factory=list)  # hand-ins graded in this run
    stopped: str | None = None  # why the batch ended before grading everything (WorkersLost)
    missing: int | None = None  # with a roster: students with no hand-in
    unmatched: list[str] = field(default_factory=list)  # with a roster: folders matching no student
    overridden: int = 0  # hand-ins whose score a reviewer's decision changes
    stale: int = 0  # review decisions no longer applied: the work under them changed

    def line(self) -> str:
        stopped = tr("; stopped early: {why} (run it again to grade the rest)", why=self.stopped) if self.stopped else ""
        roster = ""
        if self.missing is not None:
            roster = tr("; roster: {missing} without a hand-in (missing.csv), {unmatched} folders unmatched",
                        missing=self.missing, unmatched=len(self.unmatched))
            shown = ", ".join(self.unmatched[:5]) + (", ..." if len(self.unmatched) > 5 else "")
            roster += f" (unmatched.csv: {shown})" if self.unmatched else ""
        return tr("graded {graded}, unchanged {unchanged}, failed to load {failed}, timed out {timed_out}, grader "
                  "errors {errors} in {seconds:.1f} s", graded=self.graded, unchanged=self.unchanged,
                  failed=self.failed_to_load, timed_out=self.timed_out, errors=self.grader_errors,
                  seconds=self.seconds) + self._review() + stopped + roster

    def _review(self) -> str:
        if not (self.overridden or self.stale):
            return ""
        return tr("; reviewed by hand: {overridden} hand-ins changed, {stale} stale decisions (see dlgrade review)",
                  overridden=self.overridden, stale=self.stale)


def failed_to_load(result: dict) -> bool:
    """No graded target could even be found: no readable source, or none defining anything graded."""
    return not result.get("sources")


def timed_out(result: dict) -> bool:
    return any(reports_timeout(c["message"]) for c in result.get("checks", []))


class LocalWorkers:
    """Threads sharing one warm Grader: each hand-in's sandboxed children fork from its zygote."""

    def __init__(self, settings: BatchSettings, workers: int, zygote=None):
        from grader.pipeline import Grader

        self.settings = settings
        self.grader = Grader(workers=workers, limits=settings.limits, seed=settings.seed,
                             mnist=Path(settings.mnist) if settings.mnist else None, zygote=zygote,
                             config=settings.config)
        self.grader.warm_up(settings.targets)
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers))

    def submit(self, handin: Path) -> Future:
        return self.pool.submit(grade_one, self.grader, handin, self.settings)

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)
        self.grader.close()


def grade_one(grader, handin: Path, settings: BatchSettings) -> dict:
    """The worker's whole job: grade one hand-in and return the results contract as a plain dict."""
    i18n.use(settings.language)  # a Dask worker is a process of its own
    try:
        return grader.grade(handin, settings.targets, time_limit=settings.handin_timeout).to_dict()
    except Exception as error:  # a grader bug costs this hand-in a retry, never the batch
        result = SubmissionResult(submission=handin.name, checks=[],
                                  internal_errors=[tr("grader error: {error}",
                                                      error=type(error).__name__ + ": " + str(error))])
        return result.to_dict()


def run_batch(root: Path, out: Path, settings: BatchSettings, workers: Callable[[], LocalWorkers],
              gradebook: Gradebook, force: bool = False, only: Collection[str] = (),
              progress: Callable[[str, dict | None, int, int], None] = lambda *_: None,
              similarity: SimilaritySettings | None = None, roster: RosterOptions | None = None,
              roster_settings: dict | None = None, intake: Intake | None = None) -> Summary:
    """Grade what changed under `root`, commit each result as it arrives, write all reports to `out`
    with the review decisions in force applied (with `similarity` settings, the similarity report
    across the class too; with a `roster`, grades joined to the students, and who is missing or
    unmatched; `roster_settings` are remembered to render the same exports again after a review).

    `progress(name, result or None if unchanged, done, total)` is called once per hand-in.
    """
    started = time.monotonic()
    remove_stale_temporaries(out)
    if intake is None:
        intake = plain_folders.read(root, out, IntakeOptions(exclude=(out,)))
    everyone = sorted(intake.handins, key=lambda h: h.key)
    folders = dict(zip((h.key for h in everyone), unique_slugs([h.key for h in everyone])))
    handins = [h for h in everyone if h.key in set(only)] if only else everyone
    key = settings.key()
    summary = Summary()
    hashes = {h.key: handin_hash(h, settings.config.max_file_bytes) for h in handins}
    todo = [h for h in handins if force or not gradebook.is_current(h.key, hashes[h.key], key)]
    summary.unchanged = len(handins) - len(todo)
    done = 0
    for handin in handins:
        if handin not in todo:
            done += 1
            progress(handin.key, None, done, len(handins))
    if todo:
        pool = workers()
        try:
            futures = {pool.submit(handin.folder): handin for handin in todo}
            for future in as_completed(futures):
                handin = futures[future]
                try:
                    result = with_intake(future.result(), handin, settings.config)
                except WorkersLost as error:
                    summary.stopped = str(error)
                    break
                errors = bool(result.get("internal_errors"))
                inputs = overrides.fingerprints(handin.folder, result, hashes[handin.key],
                                                settings.config.max_file_bytes)
                gradebook.record(handin.key, hashes[handin.key], ERROR_KEY if errors else key, result, inputs)
                result = reviewed.reviewed_results(gradebook, [handin.key])[handin.key]
                write_submission(result, out / folders[handin.key], index_href="../index.html")
                summary.graded += 1
                summary.names.append(handin.key)
                summary.grader_errors += errors
                summary.failed_to_load += failed_to_load(result)
                summary.timed_out += timed_out(result)
                done += 1
                progress(handin.key, result, done, len(handins))
        finally:
            pool.close()
    results = reviewed.reviewed_results(gradebook, [h.key for h in everyone])
    present = [h.key for h in everyone if h.key in results]
    parents = {h.folder.parent for h in everyone}
    reviewed.remember(gradebook, {n: folders[n] for n in present}, similarity, roster_settings,
                      parents.pop() if len(parents) == 1 else root)
    for name in present:  # not graded now but reviewed since, or its report missing (e.g. a new `out`)
        if name not in summary.names and ("auto_score" in results[name]
                                          or not (out / folders[name] / "report.html").exists()):
            write_submission(results[name], out / folders[name], index_href="../index.html")
    joined = reviewed.render(gradebook, out, submissions=[], similarity=similarity, roster=roster,
                             stored_settings=False)
    summary.overridden = sum("auto_score" in results[n] for n in present)
    summary.stale = len(reviewed.stale(gradebook, present))
    if joined is not None:
        summary.missing, summary.unmatched = len(joined.missing), list(joined.unmatched)
    summary.seconds = time.monotonic() - started
    return summary
