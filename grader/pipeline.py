"""The grading pipeline for one hand-in: discover -> extract -> probe -> judge -> score."""

from __future__ import annotations

import json
import time
from datetime import datetime
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.checks.family import Family
from grader.checks.model import all_failed, flag_missing_packages
from grader.checks.fitting import FunctionFitting
from grader.checks.mnist import Training
from grader.checks.part1 import Part1
from grader import profile, scoring
from grader.checks.part2 import PASS_RELATIVE_ERROR, Part2
from grader.config import Config, load_config
from grader.i18n import tr
from grader.discover import DEFAULT_MAX_FILE_BYTES, discover
from grader.extract import SourceFile, extract_file
from grader.results import SubmissionResult
from grader.sandbox.jobs import Gate, Job, JobOutcome, Limits, again, run_job
from grader.sandbox.zygote import Zygote
from grader.targets import TARGETS


def load_sources(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[SourceFile]:
    """Discover and extract every source file of a hand-in (no student code runs here); a file
    discovery refused to read stays in the list with its reason as the error, and no cells."""
    root = path if path.is_dir() else path.parent
    found = discover(path, max_bytes)
    files = [extract_file(source, source.relative_to(root).as_posix(), max_bytes) for source in found.sources]
    return files + [SourceFile(path=root / name, display=name, error=reason)
                    for name, reason in sorted(found.skipped.items())]


class Grader:
    """Grades hand-ins with one zygote, forked before this process runs any TF op.

    Pass a `zygote` forked earlier (the CLI forks it first thing, so that its TensorFlow import
    overlaps everything else); by default one is forked here.
    """

    def __init__(self, workers: int = 2, limits: Limits | None = None, mnist: Path | None = None, seed: int = 0,
                 zygote: Zygote | None = None, config: Config | None = None):
        self.zygote = zygote or Zygote()
        self.config = config or load_config()
        limits = limits or limits_from(self.config)
        tolerances = self.config.tolerances
        thresholds = {t: tolerances[f"{t}_accuracy"] for t in ("mnist_numpy", "mnist_tf") if f"{t}_accuracy" in tolerances}
        # slowest first, so that the short jobs fill the other workers while the models train: Part 4's
        # job (one run of the student's whole fitting code) is the longest, then the two MNIST trainings
        self.seed = seed
        self.families = [FunctionFitting(limits, self.config.fitting, seed, self.config.max_file_bytes),
                         Training(limits, mnist, seed, thresholds),
                         Part2(limits, tolerances.get("gradient_relative_error", PASS_RELATIVE_ERROR)), Part1(limits)]
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers))
        self.gate = Gate()  # a job rerun after losing to a cap runs with no other job of this grader beside it

    def close(self) -> None:
        self.pool.shutdown()
        self.zygote.close()

    def __enter__(self) -> "Grader":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def warm_up(self, targets: Collection[str] | None = None) -> None:
        """Compute every reference now, so that hand-ins graded in parallel never race to build them."""
        for family in self.families:
            for name in family.targets:
                if targets is None or name in targets:
                    family.expected(name)

    def grade(self, path: Path, targets: Collection[str] | None = None, time_limit: float | None = None,
              submitted_at: datetime | None = None) -> SubmissionResult:
        """Grade one hand-in; `targets` restricts grading to those target names (default: all);
        after `time_limit` seconds, what has not finished fails with a message saying so. The late
        penalty uses `submitted_at`, by default the hand-in's own time (scoring.submission_time)."""
        started = time.perf_counter()
        deadline = time.monotonic() + time_limit if time_limit else None
        extracting = profile.now()
        files = load_sources(path, self.config.max_file_bytes)
        profile.mark(f"{path.name}: files discovered and extracted", extracting)
        result = SubmissionResult(submission=path.name or str(path), checks=[], seed=self.seed,
                                  files=[f.display for f in files],
                                  notes=[problem for f in files for problem in f.problems])
        jobs = []
        for family in self.families:
            for name in family.targets:
                if targets is not None and name not in targets:
                    continue
                try:
                    located = family.locate(TARGETS[name], files, path)
                    if not family.found(located):
                        result.checks += family.missing(located)
                        continue
                    source = family.source(located)
                    if source:
                        result.sources[name] = source
                    settled = family.settled(located)
                    if settled is not None:
                        result.checks += settled
                        continue
                    jobs.append((family, located, family.job(located)))
                except Exception as error:  # a grader bug must cost no student points silently, nor stop a batch
                    _record_grader_error(result, family, name, error)
        pending = self._submit(jobs, deadline)
        referencing = profile.now()
        for family, located, *_ in pending:  # references in this process while the children work
            family.expected(located.target.name)
        profile.mark("references (shipped for Parts 1 and 2)", referencing)
        notes = set(result.notes)
        capped = []  # jobs that lost something to a cap: judged after running once more, alone
        reruns: dict[int, JobOutcome] = {}
        for entry in pending:
            if self._judge(result, notes, entry, reruns):
                capped.append(entry)
        for entry in capped:
            run, future = entry[3], entry[4]
            if id(run) not in reruns:
                with self.gate.alone():
                    reruns[id(run)] = again(run, future.result(), run_job(self.zygote, run, deadline))
            self._judge(result, notes, entry, reruns)
        profile.mark(f"{path.name}: every job judged", referencing)
        order = {name: i for i, name in enumerate(TARGETS)}
        result.checks.sort(key=lambda c: order.get(c.target, len(order)))
        if self.config.late.due and submitted_at is None:
            submitted_at = scoring.submission_time(path)
        scoring.apply(result, self.config, submitted_at)
        result.duration_s = time.perf_counter() - started
        return result


    def _submit(self, jobs: list[tuple], deadline: float | None) -> list[tuple]:
        """Start the jobs, slowest family first; the jobs of a mergeable family that load the same
        file the same way run as one (one child loads the file once for all their functions).
        Returns (family, located, job, the job that runs it, its future) per target."""
        groups: dict[tuple, list[tuple]] = {}
        for family, located, job in jobs:
            key = (id(family), job.probe, json.dumps(job.plan, sort_keys=True)) if family.mergeable else (id(job),)
            groups.setdefault(key, []).append((family, located, job))
        pending = []
        for members in groups.values():
            run = Job.merge([job for *_, job in members]) if len(members) > 1 else members[0][2]
            future = self.pool.submit(self._run, run, deadline)
            pending += [(family, located, job, run, future) for family, located, job in members]
        return pending

    def _run(self, job: Job, deadline: float | None) -> JobOutcome:
        with self.gate.shared():
            return run_job(self.zygote, job, deadline)

    def _judge(self, result: SubmissionResult, notes: set[str], entry: tuple,
               reruns: dict[int, JobOutcome]) -> bool:
        """Judge one target's outcome into `result`. Unless its job has been rerun (`reruns`), a job that
        lost something to a cap (CPU or wall backstop) is not judged but deferred (True), to be run once
        more, alone (no other job of this grader beside it), before its points go."""
        family, located, job, run, future = entry
        try:
            found = reruns.get(id(run)) or future.result()
            if id(run) not in reruns and found.capped:
                return True
            outcome = found.of(run, job.target)
            result.confinement = result.confinement or outcome.confinement
            result.checks += flag_missing_packages(family.judge(located, outcome))
        except Exception as error:  # a grader bug must cost no student points silently, nor stop a batch
            _record_grader_error(result, family, located.target.name, error)
            return False
        for note in outcome.load_notes:
            if note not in notes:
                notes.add(note)
                result.notes.append(note)
        return False


def limits_from(config: Config) -> Limits:
    """The sandbox limits a configuration sets (the hand-in timeout is the batch's)."""
    limits = config.limits
    return Limits(call_timeout=limits["call_timeout"], load_timeout=limits["load_timeout"],
                  memory_mb=int(limits["memory_mb"]), max_processes=int(limits["max_processes"]), cpus=limits["cpus"],
                  wall_backstop=limits["wall_backstop"])


def _record_grader_error(result: SubmissionResult, family: Family, target: str, error: Exception) -> None:
    """Fail the target's checks with the grader's own error, flagged so the exit status says so."""
    message = tr("grader error while grading `{target}`: {error}", target=target,
                 error=type(error).__name__ + ": " + str(error))
    result.internal_errors.append(message)
    result.checks += all_failed(target, family.check_ids(target), message)
