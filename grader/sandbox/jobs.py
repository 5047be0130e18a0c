"""Parent side of probing: run a job's calls in sandboxed children under deadlines.

A job may probe several functions of one file (`Job.merge`: the file is loaded once for all of
them); each call names its function. A call that hangs, crashes or exits costs only that call:
the child is killed (its whole process group) and a fresh child resumes at the next call, and a
function that keeps hanging or crashing is given up alone, the others still probed. A definition that hangs or kills
the child while the file loads is skipped on the next attempt and reported, so one hostile
statement cannot take the rest of the file down with it.

The caps on a call and on loading count the CPU time of the child's whole process tree
(cputime.py), so a machine busy with other work does not time a student's call out; a call that
sleeps or waits (using little CPU) is stopped by a wall-time backstop `wall_backstop` times the cap.
A job that lost something to a cap is run once more, alone, before its points go (`again`, and
the pipeline's Gate).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Collection, Iterator
from contextlib import contextmanager
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
    """Caps enforced from the parent, in seconds of the child's CPU time (per call, and for loading
    the file), with a wall-time backstop `wall_backstop` times as long for calls that sleep; and the
    resources of each child's whole process tree (memory, processes, cores: see cgroups.py)."""

    call_timeout: float = 10.0
    load_timeout: float = 30.0
    memory_mb: int = 2048
    max_processes: int = 256  # counts threads: TF/torch pools grow with the cores
    cpus: float = 1.0
    wall_backstop: float = 4.0


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
                "wall_backstop": self.limits.wall_backstop,
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
    capped: str | None = None  # the cap that stopped it ("timed out after 30 s of CPU (62 s wall)")


@dataclass
class JobOutcome:
    load_notes: list[str] = field(default_factory=list)
    problem: str | None = None  # no target could be probed at all
    confinement: dict | None = None  # what the child's confinement applied and missed (confine.py)
    calls: list[CallOutcome] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # target -> why it could not be probed (further)
    load_capped: str | None = None  # the cap that stopped loading the file, if one did

    @property
    def capped(self) -> bool:
        """Whether a cap (CPU or wall backstop) cost something: then the job runs once more, alone."""
        return self.load_capped is not None or any(call.capped for call in self.calls)

    def of(self, job: Job, target: str) -> "JobOutcome":
        """The outcome of one function of a merged job, as if it had been probed alone."""
        calls = [call for i, call in enumerate(self.calls) if job.call_target(i) == target]
        unfinished = any(call.data is None for call in calls)  # a job-wide problem touches this target only then
        return JobOutcome(list(self.load_notes), self.problems.get(target) or (self.problem if unfinished else None),
                          self.confinement, calls, load_capped=self.load_capped)


class _Lost(Exception):
    """The child stopped answering: timed out, died, or sent garbage."""

    def __init__(self, how: str, died: bool, capped: bool = False):
        super().__init__(how)
        self.how = how
        self.died = died  # True: the exit status from the supervisor explains it
        self.capped = capped  # True: a CPU cap or the wall-time backstop stopped it


@dataclass
class _Progress:
    statement: int | None = None  # last definition the child started executing
    loaded: bool = False
    call: int | None = None  # call in progress


class _OutOfTime(Exception):
    """The hand-in's overall wall-time budget ran out."""


def _wait(child: Child, cap: float, backstop: float, deadline: float | None) -> dict[str, Any]:
    """The child's next message, within `cap` seconds of its CPU time and `backstop` seconds of wall time."""
    cpu_start, wall_start, used = child.cpu.seconds(), time.monotonic(), 0.0
    while True:
        now = time.monotonic()
        if used >= cap:
            raise _Lost(tr("timed out after {seconds:g} s of CPU ({wall:.0f} s wall)", seconds=cap,
                           wall=now - wall_start), died=False, capped=True)
        if now - wall_start >= backstop:
            raise _Lost(tr("timed out at the wall-time backstop of {seconds:g} s, having used {cpu:.1f} s of CPU: "
                           "it was sleeping or waiting", seconds=backstop, cpu=used), died=False, capped=True)
        # CPU time grows at most as fast as wall time per core: look again before the cap can be passed
        until = now + min(max((cap - used) / 2, 0.02), 1.0, wall_start + backstop - now)
        if deadline is not None and deadline <= until:
            try:
                return child.results.read(deadline)
            except ChannelTimeout:
                raise _OutOfTime() from None
        try:
            return child.results.read(until)
        except ChannelTimeout:
            used = child.cpu.seconds() - cpu_start


def _expect(child: Child, limits: Limits, timeout: float, deadline: float | None, *events: str) -> dict[str, Any]:
    try:
        message = _wait(child, timeout, timeout * limits.wall_backstop, deadline)
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
    while (message := _expect(child, limits, limits.load_timeout, deadline, "statement", "loaded"))["event"] \
            == "statement":
        progress.statement = message["index"]
    progress.loaded = True
    outcome.load_notes = list(message["notes"])  # every child reloads: keep the latest notes
    outcome.confinement = message.get("confinement")
    outcome.problems.update({t: p for t, p in message["problems"].items() if p})
    for index in range(start, len(job.calls)):
        if job.call_target(index) in outcome.problems:
            continue
        progress.call = index
        _expect(child, limits, limits.call_timeout, deadline, "begin")
        outcome.calls[index].data = _expect(child, limits, limits.call_timeout, deadline, "result")
    progress.call = None
    _expect(child, limits, limits.call_timeout, deadline, "done")


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
    cpu = 0.0  # of every child, for --profile
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
        cpu += child.cpu.seconds()
        exit_description = child.finish()
        if lost is None:
            break
        what = exit_description if lost.died else lost.how
        if progress.call is not None:
            target = job.call_target(progress.call)
            outcome.calls[progress.call].failure = tr("while running `{target}` the process {what}", target=target,
                                                      what=what)
            outcome.calls[progress.call].capped = lost.how if lost.capped else None
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
            outcome.load_capped = outcome.load_capped or (lost.how if lost.capped else None)
        else:
            outcome.problem = tr("the process {what} while loading the file", what=what)
            outcome.load_capped = lost.how if lost.capped else None
            break
    outcome.load_notes = skip_notes + outcome.load_notes
    profile.mark(f"job `{'`, `'.join(job.targets)}` ({job.probe}): {len(job.calls)} calls in sandboxed children, "
                 f"{cpu:.1f} s of CPU", started)
    for index, call in enumerate(outcome.calls):
        if call.data is None and call.failure is None:
            call.failure = outcome.problems.get(job.call_target(index)) or outcome.problem or _("not run")
    return outcome


def _statement_location(plan: dict, index: int) -> str:
    from grader.sandbox.loader import statements

    cell, stmt = statements(plan)[index]
    return tr("{where}, line {line}", where=cell["where"], line=stmt.lineno)


def again(job: Job, first: JobOutcome, second: JobOutcome) -> JobOutcome:
    """The outcome of a job that lost something to a cap (`first`) and was run once more, alone
    (`second`): the second run's, its messages saying both times where it lost to a cap again."""
    if second.problem == _(OUT_OF_TIME):  # the hand-in's time ran out meanwhile: the first run says more
        return first
    if not second.capped:
        what = first.load_capped or next(call.capped for call in first.calls if call.capped)
        second.load_notes.append(tr("`{targets}`: {what} while other jobs ran beside it; run again alone, it finished "
                                    "within its caps", targets="`, `".join(job.targets), what=what))
        return second
    for index, (before, after) in enumerate(zip(first.calls, second.calls)):
        if before.capped and after.capped:
            after.failure = tr("while running `{target}` the process {first} beside other jobs, and {second} when run "
                               "again alone", target=job.call_target(index), first=before.capped, second=after.capped)
    if first.load_capped and second.load_capped and second.problem:
        second.problem = tr("the process {first} while loading the file beside other jobs, and {second} when loading "
                            "it again alone", first=first.load_capped, second=second.load_capped)
    elif first.load_capped and second.load_capped:  # a definition skipped both times: its note gives the second
        second.load_notes.append(tr("a definition was skipped in both runs: the process {first} beside other jobs, "
                                    "and {second} when run again alone", first=first.load_capped,
                                    second=second.load_capped))
    return second


class Gate:
    """Jobs run side by side (`shared`) except a rerun (`alone`), which waits for the running jobs to
    end and holds new ones back until it is done, so that it has the grader's workers to itself."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._running = 0
        self._alone = 0  # reruns running or waiting: they go first

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._alone)
            self._running += 1
        try:
            yield
        finally:
            with self._condition:
                self._running -= 1
                self._condition.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        with self._condition:
            self._alone += 1
            self._condition.wait_for(lambda: not self._running)
            self._running = -1  # held: no other rerun nor job starts
        try:
            yield
        finally:
            with self._condition:
                self._running = 0
                self._alone -= 1
                self._condition.notify_all()
