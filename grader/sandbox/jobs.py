"""Parent side of probing: run a job's calls in sandboxed children under deadlines.

A job may probe several functions of one file (`Job.merge`: the file is loaded once for all of
them); each call names its function. A call that hangs, crashes or exits costs only that call:
the child is killed (its whole process group) and a fresh child resumes at the next call, and a
function that keeps hanging or crashing is given up alone, the others still probed. A definition that hangs or kills
the child while the file loads is skipped on the next attempt and reported, so one hostile
statement cannot take the rest of the file down with it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from grader import i18n, profile
from grader.i18n import N_, _, tr
from grader.sandbox.protocol import ChannelClosed, ChannelTimeout, ProtocolError
from grader.sandbox.zygote import Child, Zygote

MAX_LOAD_ATTEMPTS = 4
MAX_TIMEOUTS = 2  # after this many hung calls, the function is not called again
MAX_CRASHES = 3  # nor after this many calls in a row that killed the process (exit, segfault)
OUT_OF_TIME = N_("the hand-in's wall-time limit ran out before this finished (see --handin-timeout)")


def reports_timeout(message: str) -> bool:
    """Whether a check's message says something ran out of time, in English or in the run's language
    (every such message holds the words "timed out", or the hand-in's wall-time message)."""
    return any(words in message for words in {"timed out", _("timed out"), OUT_OF_TIME, _(OUT_OF_TIME)})


@dataclass(frozen=True)
class Limits:
    """Wall-clock limits enforced from the parent (per call, and for loading the file), and the
    resources of each child's whole process tree (memory, processes, cores: see cgroups.py)."""

    call_timeout: float = 10.0
    load_timeout: float = 30.0
    memory_mb: int = 2048
    max_processes: int = 256  # counts threads: TF/torch pools grow with the cores
    cpus: float = 1.0


@dataclass
class Job:
    """What one child run needs: which function to probe, how, and the file to load first."""

    target: str
    probe: str
    plan: dict
    calls: list[dict]
    where: dict[str, str]  # compile label -> human location, for messages
    exempt: list[str] = field(default_factory=list)
    limits: Limits = Limits()
    seed: int = 0
    standalone: bool = False  # the calls bring their own code (Part 4): no loaded function is required

    def message(self, start: int, given_up: Collection[str] = ()) -> dict[str, Any]:
        return {"target": self.target, "targets": self.targets, "probe": self.probe, "plan": self.plan,
                "calls": self.calls, "where": self.where, "exempt": self.exempt, "start": start, "seed": self.seed,
                "memory_mb": self.limits.memory_mb, "given_up": sorted(given_up), "standalone": self.standalone,
                "language": i18n.active()}  # the child words its own messages in the run's language

    @property
    def targets(self) -> list[str]:
        """Every function this job probes, in call order."""
        return list(dict.fromkeys(self.call_target(i) for i in range(len(self.calls)))) or [self.target]

    def call_target(self, index: int) -> str:
        return self.calls[index].get("target", self.target)

    @staticmethod
    def merge(jobs: list["Job"]) -> "Job":
        """One job probing the functions of `jobs` (same file, probe and limits) in turn."""
        first = jobs[0]
        calls = [dict(call, target=job.target, exempt=job.exempt) for job in jobs for call in job.calls]
        return Job(target=first.target, probe=first.probe, plan=first.plan, calls=calls,
                   where={k: v for job in jobs for k, v in job.where.items()}, exempt=first.exempt,
                   limits=first.limits, seed=first.seed)

    def resources(self) -> dict[str, float]:
        """What the supervisor caps for the child's whole process tree (plain data for the zygote)."""
        return {"memory_mb": self.limits.memory_mb, "max_processes": self.limits.max_processes,
                "cpus": self.limits.cpus}


@dataclass
class CallOutcome:
    """What came back for one call: the child's plain data, or why nothing did."""

    data: dict[str, Any] | None = None
    failure: str | None = None


@dataclass
class JobOutcome:
    load_notes: list[str] = field(default_factory=list)
    problem: str | None = None  # no target could be probed at all
    confinement: dict | None = None  # what the child's confinement applied and missed (confine.py)
    calls: list[CallOutcome] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # target -> why it could not be probed (further)

    def of(self, job: Job, target: str) -> "JobOutcome":
        """The outcome of one function of a merged job, as if it had been probed alone."""
        calls = [call for i, call in enumerate(self.calls) if job.call_target(i) == target]
        unfinished = any(call.data is None for call in calls)  # a job-wide problem touches this target only then
        return JobOutcome(list(self.load_notes), self.problems.get(target) or (self.problem if unfinished else None),
                          self.confinement, calls)


class _Lost(Exception):
    """The child stopped answering: timed out, died, or sent garbage."""

    def __init__(self, how: str, died: bool):
        super().__init__(how)
        self.how = how
        self.died = died  # True: the exit status from the supervisor explains it


@dataclass
class _Progress:
    statement: int | None = None  # last definition the child started executing
    loaded: bool = False
    call: int | None = None  # call in progress


class _OutOfTime(Exception):
    """The hand-in's overall wall-time budget ran out."""


def _expect(child: Child, timeout: float, deadline: float | None, *events: str) -> dict[str, Any]:
    until = time.monotonic() + timeout
    out_of_time = deadline is not None and deadline < until
    try:
        message = child.results.read(deadline if out_of_time else until)
    except ChannelTimeout:
        if out_of_time:
            raise _OutOfTime() from None
        raise _Lost(tr("timed out after {seconds:g} s", seconds=timeout), died=False) from None
    except ChannelClosed:
        raise _Lost(_("stopped"), died=True) from None
    except ProtocolError as error:
        raise _Lost(tr("sent malformed data ({error})", error=error), died=False) from None
    if message.get("event") not in events:
        raise _Lost(tr("sent an unexpected {event!r} message", event=str(message.get("event"))[:40]), died=False)
    return message


def _drive(child: Child, job: Job, start: int, outcome: JobOutcome, progress: _Progress, deadline: float | None) -> None:
    """Follow one child from loading to `done`, filling `outcome`; raises _Lost or _OutOfTime."""
    limits = job.limits
    while (message := _expect(child, limits.load_timeout, deadline, "statement", "loaded"))["event"] == "statement":
        progress.statement = message["index"]
    progress.loaded = True
    outcome.load_notes = list(message["notes"])  # every child reloads: keep the latest notes
    outcome.confinement = message.get("confinement")
    outcome.problems.update({t: p for t, p in message["problems"].items() if p})
    for index in range(start, len(job.calls)):
        if job.call_target(index) in outcome.problems:
            continue
        progress.call = index
        _expect(child, limits.call_timeout, deadline, "begin")
        outcome.calls[index].data = _expect(child, limits.call_timeout, deadline, "result")
    progress.call = None
    _expect(child, limits.call_timeout, deadline, "done")


def run_job(zygote: Zygote, job: Job, deadline: float | None = None) -> JobOutcome:
    """Run every call of `job`, resuming in a fresh child after each lost call; stop at `deadline`
    (a `time.monotonic()` value: the hand-in's wall-time budget) if given."""
    started = profile.now()
    outcome = JobOutcome(calls=[CallOutcome() for _call in job.calls])
    skipped: list[int] = []
    skip_notes: list[str] = []
    start = 0
    timeouts: dict[str, int] = defaultdict(int)
    crashes_in_a_row: dict[str, int] = defaultdict(int)
    for _attempt in range(len(job.calls) + MAX_LOAD_ATTEMPTS):
        if deadline is not None and time.monotonic() >= deadline:
            outcome.problem = _(OUT_OF_TIME)
            break
        progress = _Progress()
        child = zygote.spawn(dict(job.message(start, outcome.problems), plan=dict(job.plan, skip=skipped)),
                             job.resources())
        lost = None
        try:
            _drive(child, job, start, outcome, progress, deadline)
        except _Lost as error:
            lost = error
        except _OutOfTime:
            child.finish()
            outcome.problem = _(OUT_OF_TIME)
            break
        exit_description = child.finish()
        if lost is None:
            break
        what = exit_description if lost.died else lost.how
        if progress.call is not None:
            target = job.call_target(progress.call)
            outcome.calls[progress.call].failure = tr("while running `{target}` the process {what}", target=target,
                                                      what=what)
            timeouts[target] += not lost.died
            crashes_in_a_row[target] = crashes_in_a_row[target] + 1 if lost.died and progress.call == start \
                else int(lost.died)
            start = progress.call + 1
            if timeouts[target] >= MAX_TIMEOUTS:
                outcome.problems[target] = tr("`{target}` was not called again after {count} calls timed out",
                                               target=target, count=timeouts[target])
            elif crashes_in_a_row[target] >= MAX_CRASHES:
                outcome.problems[target] = tr("`{target}` was not called again after {count} calls in a row ended the "
                                              "process (last: it {what})", target=target,
                                              count=crashes_in_a_row[target], what=what)
            if all(job.call_target(i) in outcome.problems for i in range(start, len(job.calls))):
                break
        elif progress.loaded:  # every call answered; only the closing message went missing
            break
        elif progress.statement is not None and len(skipped) < MAX_LOAD_ATTEMPTS and not outcome.problem:
            skipped.append(progress.statement)
            skip_notes.append(
                tr("{where}: the process {what} while this was being defined; skipped",
                   where=_statement_location(job.plan, progress.statement), what=what))
        else:
            outcome.problem = tr("the process {what} while loading the file", what=what)
            break
    outcome.load_notes = skip_notes + outcome.load_notes
    profile.mark(f"job `{'`, `'.join(job.targets)}` ({job.probe}): {len(job.calls)} calls in sandboxed children", started)
    for index, call in enumerate(outcome.calls):
        if call.data is None and call.failure is None:
            call.failure = outcome.problems.get(job.call_target(index)) or outcome.problem or _("not run")
    return outcome


def _statement_location(plan: dict, index: int) -> str:
    from grader.sandbox.loader import statements

    cell, stmt = statements(plan)[index]
    return tr("{where}, line {line}", where=cell["where"], line=stmt.lineno)
