"""Load must not change a grade: caps count the child's CPU time, a sleeper meets a wall-time backstop,
a job lost to a cap runs once more alone, and a machine loaded on purpose grades the same."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from grader.checks.part1 import Part1
from grader.pipeline import load_sources
from grader.probes.early_stop import Ticker, TimeUp
from grader.sandbox import cputime
from grader.sandbox.cgroups import CgroupFactory
from grader.sandbox.jobs import CallOutcome, Gate, Job, JobOutcome, Limits, again, run_job
from grader.targets import TARGETS, locate
from tests.helpers import IMPORTS, write_handin, write_notebook

SIGMOID = "1 / (1 + tf.exp(-x))"


def _first_call_does(action: str) -> str:
    """A correct `sigmoid` whose first call (in each child) does `action` first."""
    return ("import time\n_done = []\n\ndef sigmoid(x):\n    if not _done:\n        _done.append(1)\n"
            f"        {action}\n    return {SIGMOID}")


def _spin(seconds: float) -> str:
    return f"end = time.process_time() + {seconds}\n        while time.process_time() < end:\n            pass"


def _probe(zygote, folder: Path, source: str, limits: Limits, calls: int = 1) -> JobOutcome:
    """Part 1's job for `sigmoid` alone, on its first `calls` inputs, through the sandbox."""
    write_notebook(folder / "hw.ipynb", [IMPORTS, source])
    job = Part1(limits).job(locate(TARGETS["sigmoid"], load_sources(folder)))
    job.calls = job.calls[:calls]
    return run_job(zygote, job)


# --- what is counted -----------------------------------------------------------------------------

def test_cgroup_counters_are_read_in_seconds(tmp_path):
    v2 = tmp_path / "cpu.stat"
    v2.write_text("usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n", encoding="ascii")
    v1 = tmp_path / "cpuacct.usage"
    v1.write_text("2250000000\n", encoding="ascii")
    assert cputime.read_cgroup_usage(str(v2)) == 1.5
    assert cputime.read_cgroup_usage(str(v1)) == 2.25
    assert cputime.read_cgroup_usage(str(tmp_path / "gone")) is None


def test_process_group_clock_counts_cpu_not_sleep():
    """Without a cgroup, the child's process group: a spinning member counts, a sleeping one does not."""
    code = ("import os, sys, time\nif os.fork() == 0:\n    end = time.process_time() + float(sys.argv[1])\n"
            "    while time.process_time() < end:\n        pass\n    os._exit(0)\nos.wait()\ntime.sleep(30)")
    spinner = subprocess.Popen([sys.executable, "-c", code, "0.6"], start_new_session=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        clocks = cputime.CpuClock(spinner.pid), cputime.CpuClock(sleeper.pid)
        assert clocks[0].source == "process group"
        deadline = time.monotonic() + 60
        while clocks[0].seconds() < 0.6 and time.monotonic() < deadline:  # the forked spinner, reaped: cutime
            time.sleep(0.1)
        assert clocks[0].seconds() >= 0.6
        assert clocks[1].seconds() < 0.3  # interpreter start-up only
    finally:
        for process in (spinner, sleeper):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_children_report_their_cpu_counter(grader, tmp_path):
    """Where the grader can make cgroups, the parent reads the child's cgroup counter."""
    factory = CgroupFactory.discover()
    child = grader.zygote.spawn({"no": "job"}, {"memory_mb": 512, "max_processes": 8, "cpus": 1.0})
    try:
        expected = "process group" if factory.problem or (factory.version == 1 and "cpuacct" not in factory.parents) \
            else "cgroup"
        assert child.cpu.source == expected
    finally:
        child.finish()


# --- caps on calls -------------------------------------------------------------------------------

def test_a_call_that_sleeps_past_the_cap_passes_until_the_backstop(grader, tmp_path):
    """1.5 s asleep, using little CPU, under a cap of 1 s of CPU: counted in wall time, it timed out."""
    limits = Limits(call_timeout=1.0, load_timeout=20.0, wall_backstop=6.0)
    outcome = _probe(grader.zygote, tmp_path, _first_call_does("time.sleep(1.5)"), limits)
    assert outcome.calls[0].failure is None and outcome.calls[0].data is not None
    assert not outcome.capped


def test_a_sleeper_is_stopped_at_the_wall_time_backstop(grader, tmp_path):
    limits = Limits(call_timeout=0.5, load_timeout=20.0, wall_backstop=3.0)
    outcome = _probe(grader.zygote, tmp_path, _first_call_does("time.sleep(60)"), limits)
    failure = outcome.calls[0].failure or ""
    assert "wall-time backstop of 1.5 s" in failure and "sleeping or waiting" in failure, failure
    assert outcome.capped


def test_a_spinning_call_is_stopped_at_the_cpu_cap(grader, tmp_path):
    limits = Limits(call_timeout=1.0, load_timeout=20.0, wall_backstop=30.0)
    outcome = _probe(grader.zygote, tmp_path, _first_call_does("while True:\n            pass"), limits)
    failure = outcome.calls[0].failure or ""
    assert "timed out after 1 s of CPU" in failure and "backstop" not in failure, failure
    assert outcome.calls[0].capped and outcome.capped


def test_loading_is_capped_in_cpu_time_too(grader, tmp_path):
    source = ("import time\n\ndef _burn():\n    end = time.process_time() + 60\n    while time.process_time() < end:\n"
              f"        pass\n\ndef sigmoid(x, _=_burn()):\n    return {SIGMOID}")
    limits = Limits(call_timeout=1.0, load_timeout=1.0, wall_backstop=30.0)
    outcome = _probe(grader.zygote, tmp_path, source, limits)
    assert any("timed out after 1 s of CPU" in note and "skipped" in note for note in outcome.load_notes), \
        outcome.load_notes
    assert outcome.capped


# --- Part 4's own cap, in the child --------------------------------------------------------------

def test_part4_ticker_counts_cpu_time_with_a_wall_backstop():
    with Ticker(0.5, 0.1, backstop=4.0) as ticker:
        time.sleep(1.0)  # twice the cap in wall time, almost no CPU: the old wall-time ticker stopped here
    assert not ticker.fired
    started = time.process_time()
    with pytest.raises(TimeUp):
        with Ticker(0.3, 0.1, backstop=100.0):
            while True:
                pass
    assert time.process_time() - started >= 0.3
    started = time.monotonic()
    with pytest.raises(TimeUp):
        with Ticker(0.2, 0.1, backstop=2.0):
            time.sleep(30)  # asleep: stopped by the backstop, 0.4 s of wall time
    assert time.monotonic() - started < 10


# --- run once more, alone ------------------------------------------------------------------------

def _outcome(*failures: str | None) -> JobOutcome:
    return JobOutcome(calls=[CallOutcome(data=None if f else {"output": 1}, failure=f and f"the process {f}",
                                         capped=f) for f in failures])


def test_a_rerun_that_finishes_replaces_the_first_run_and_says_so():
    job = Job(target="mnist_tf", probe="training", plan={}, calls=[{}, {}], where={})
    first = _outcome(None, "timed out after 30 s of CPU (62 s wall)")
    final = again(job, first, _outcome(None, None))
    assert all(call.failure is None for call in final.calls)
    assert any("timed out after 30 s of CPU (62 s wall) while other jobs ran beside it; run again alone, it "
               "finished" in note for note in final.load_notes), final.load_notes


def test_a_rerun_that_loses_again_says_both_times():
    job = Job(target="mnist_tf", probe="training", plan={}, calls=[{}], where={})
    final = again(job, _outcome("timed out after 30 s of CPU (62 s wall)"),
                  _outcome("timed out after 30 s of CPU (31 s wall)"))
    assert final.calls[0].failure == ("while running `mnist_tf` the process timed out after 30 s of CPU (62 s wall) "
                                      "beside other jobs, and timed out after 30 s of CPU (31 s wall) when run again "
                                      "alone")


def test_a_definition_skipped_in_both_runs_says_both_times():
    job = Job(target="sigmoid", probe="call", plan={}, calls=[], where={})
    first = JobOutcome(load_capped="timed out after 30 s of CPU (70 s wall)")
    second = JobOutcome(load_notes=["hw.ipynb, cell 2, line 3: the process timed out ...; skipped"],
                        load_capped="timed out after 30 s of CPU (31 s wall)")
    final = again(job, first, second)
    assert final.load_notes[-1] == ("a definition was skipped in both runs: the process timed out after 30 s of CPU "
                                    "(70 s wall) beside other jobs, and timed out after 30 s of CPU (31 s wall) when "
                                    "run again alone")


def test_a_rerun_waits_for_running_jobs_and_holds_new_ones_back():
    gate, log = Gate(), []
    running, release = threading.Event(), threading.Event()

    def job(name: str, hold: bool = False) -> None:
        with gate.shared():
            log.append(f"{name} start")
            if hold:
                running.set()
                release.wait(10)
            log.append(f"{name} end")

    def rerun() -> None:
        with gate.alone():
            log.append("rerun start")
            time.sleep(0.2)
            log.append("rerun end")

    first = threading.Thread(target=job, args=("first", True))
    first.start()
    running.wait(10)
    alone = threading.Thread(target=rerun)
    alone.start()
    time.sleep(0.1)
    later = threading.Thread(target=job, args=("later",))  # submitted while the rerun waits: it goes after
    later.start()
    time.sleep(0.1)
    release.set()
    for thread in (first, alone, later):
        thread.join(10)
    assert log == ["first start", "first end", "rerun start", "rerun end", "later start", "later end"]


def test_a_check_lost_to_a_cap_is_run_again_alone_before_its_points_go(grader, tmp_path, monkeypatch):
    """The first run of each job gets a cap too small for the work (as a busy machine counted in wall
    time did); the rerun, alone, with the real cap, gives the points."""
    import grader.pipeline as pipeline

    seen: list[int] = []
    real = pipeline.run_job

    def first_run_starved(zygote, job, deadline=None):
        if id(job) in seen:
            return real(zygote, job, deadline)
        seen.append(id(job))
        return real(zygote, replace(job, limits=replace(job.limits, call_timeout=0.3)), deadline)

    monkeypatch.setattr(pipeline, "run_job", first_run_starved)
    folder = write_handin(tmp_path / "handin", sigmoid=_first_call_does(_spin(1.0)))
    result = grader.grade(folder, {"sigmoid"})
    assert result.per_target()["sigmoid"] == (10.0, 10.0), [c.message for c in result.checks]
    assert any("run again alone, it finished within its caps" in note for note in result.notes), result.notes


# --- a machine loaded on purpose -----------------------------------------------------------------

BURN = "import os, sys\n{join}\nwhile True:\n    pass"


def _burners(count: int) -> list[subprocess.Popen]:
    """`count` busy processes, each in a cgroup of its own capped at one core where the grader can
    make cgroups (as the children of other graders on the machine are), else plain ones."""
    factory = CgroupFactory.discover()
    burners = []
    for index in range(count):
        join = ""
        if not factory.problem:
            group = factory.create(f"dlgrade-test-burner-{os.getpid()}-{index}", 256, 4, 1.0)
            join = "\n".join(f"open({os.path.join(d, 'cgroup.procs')!r}, 'w').write(str(os.getpid()))"
                             for d in sorted(set(group.dirs.values())))
        burners.append(subprocess.Popen([sys.executable, "-c", BURN.format(join=join)]))
    return burners


def _stop(burners: list[subprocess.Popen]) -> None:
    for burner in burners:
        burner.kill()
        burner.wait()
    CgroupFactory.discover().sweep(f"dlgrade-test-burner-{os.getpid()}-")


def test_a_loaded_machine_grades_the_same_as_an_idle_one(grader, tmp_path):
    """A first call that needs 2 s of CPU under the 3 s cap, graded alone and beside four busy
    processes: the same scores (counted in wall time, the loaded run timed out)."""
    folder = write_handin(tmp_path / "handin", sigmoid=_first_call_does(_spin(2.0)))
    alone = grader.grade(folder, {"sigmoid", "softmax"})
    burners = _burners(4)
    try:
        loaded = grader.grade(folder, {"sigmoid", "softmax"})
    finally:
        _stop(burners)
    scores = {c.id: c.score for c in alone.checks}
    assert scores == {c.id: c.score for c in loaded.checks}
    assert alone.per_target()["sigmoid"] == (10.0, 10.0), [c.message for c in alone.checks]
    assert not any("run again alone" in note for note in loaded.notes), loaded.notes
