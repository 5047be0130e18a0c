"""Child side of Part 4: watch the fit while the student's code trains, and stop it once it has settled.

Real fitting code often trains for minutes although it fits well after seconds. A ticker
(SIGPROF every PERIOD seconds of the process's CPU time) both enforces the run's time cap and lets
the monitor measure the models found so far, with the same measures the parent judges by (grader/fitting/measures.py).
Once the fit has stayed above the bar for STREAK checks in a row, the statement that is training
is stopped (`Settled`) and the run goes on with the student's remaining statements (plots,
printed errors), still under the cap. The cap, the ticks and the checks count CPU time, not wall
time: on a machine busy with other work the student's code gets as much computing before it is
stopped, and the checks fall after as much training, as on an idle one (code that sleeps is
stopped by a wall-time backstop, `backstop` times the cap). Measuring must not disturb training: random states,
the attributes of the student's objects and torch's train/eval modes are restored after each
check, and the student's own time limits (SIGALRM) are not used meanwhile.
"""

from __future__ import annotations

import random
import signal
import sys
import time
import types
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np

from grader.fitting.measures import best_pairing

PERIOD = 1.5  # seconds of CPU between checks (at least ten times what one check costs)
FIRST = 2.0  # seconds of CPU of training before the first check
BACKSTOP = 4.0  # a run that sleeps is stopped after this many times its cap in wall time
STREAK = 3  # checks in a row above the bar that settle the fit
_STUDENT_FILE = "<dlgrade "


class TimeUp(BaseException):
    """The run or one evaluation reached its time cap (a BaseException: `except Exception` in the
    student's loop must not swallow it)."""


class Settled(BaseException):
    """The fit has stayed above the bar: the statement that trains is stopped (not a failure)."""


class Ticker:
    """SIGPROF every `period` seconds of the process's CPU time: TimeUp once `cap` seconds of CPU have
    been used, or `cap * backstop` seconds of wall time have passed (SIGALRM: code that sleeps), re-fired
    at each tick in case a bare `except:` swallowed it; else `on_tick(frame)`, which may raise Settled.
    `suspended` (a class flag) turns evaluation alarms off while a tick measures."""

    suspended = False

    def __init__(self, cap: float, period: float, on_tick: Callable[[types.FrameType], None] | None = None,
                 backstop: float = BACKSTOP):
        self.cap, self.period, self.on_tick, self.backstop = cap, period, on_tick, backstop
        self.started, self.wall_started = time.process_time(), time.monotonic()
        self.fired = False
        self._busy = False

    def _ring(self, signum: int, frame: Any) -> None:
        if self._busy:
            return
        if time.process_time() - self.started >= self.cap or \
                time.monotonic() - self.wall_started >= self.cap * self.backstop:
            self.fired = True
            raise TimeUp()
        if self.on_tick is not None and frame is not None:
            self._busy = True
            try:
                self.on_tick(frame)
            finally:
                self._busy = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No tick runs meanwhile (the cap is checked at the next tick after)."""
        busy, self._busy = self._busy, True
        try:
            yield
        finally:
            self._busy = busy

    def __enter__(self) -> "Ticker":
        if Ticker.suspended:
            return self
        signal.signal(signal.SIGPROF, self._ring)
        signal.signal(signal.SIGALRM, self._ring)
        first = min(self.cap, self.period if self.on_tick else self.cap)
        signal.setitimer(signal.ITIMER_PROF, max(first, 0.01), self.period if self.on_tick else 1.0)
        signal.setitimer(signal.ITIMER_REAL, max(self.cap * self.backstop, 0.01), 1.0)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if Ticker.suspended:
            return
        for timer, signum in ((signal.ITIMER_PROF, signal.SIGPROF), (signal.ITIMER_REAL, signal.SIGALRM)):
            signal.setitimer(timer, 0)
            signal.signal(signum, signal.SIG_DFL)


class _Preserved:
    """Restores, after a check, what measuring may change: random states, the attributes of the
    student's objects, torch modules' train/eval modes."""

    def __init__(self, scopes: list[tuple[str, dict]]):
        self.scopes = scopes

    def __enter__(self) -> "_Preserved":
        self.random, self.numpy = random.getstate(), np.random.get_state()
        torch = sys.modules.get("torch")
        self.torch = torch.get_rng_state() if torch is not None else None
        self.objects: list[tuple[Any, dict]] = []
        self.modes: list[tuple[Any, bool]] = []
        seen: set[int] = set()
        for _, scope in self.scopes:
            for value in list(scope.values()):
                self._remember(value, seen, torch)
        return self

    def _remember(self, value: Any, seen: set[int], torch: Any, depth: int = 2) -> None:
        if id(value) in seen or isinstance(value, (type, types.ModuleType, types.FunctionType)) or depth < 0:
            return
        seen.add(id(value))
        if torch is not None and isinstance(value, torch.nn.Module):
            self.modes += [(module, module.training) for module in value.modules()]
            return
        if isinstance(value, (list, tuple)) and len(value) <= 50:
            for item in value:
                self._remember(item, seen, torch, depth - 1)
            return
        if isinstance(value, dict) and len(value) <= 50:
            for item in list(value.values()):
                self._remember(item, seen, torch, depth - 1)
            return
        state = getattr(value, "__dict__", None)
        if isinstance(state, dict) and type(value).__module__ in ("__main__", "dlgrade_submission"):
            self.objects.append((value, {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
                                         for k, v in state.items()}))
            for item in list(state.values()):
                self._remember(item, seen, torch, depth - 1)

    def __exit__(self, *exc_info: object) -> None:
        random.setstate(self.random)
        np.random.set_state(self.numpy)
        torch = sys.modules.get("torch")
        if torch is not None and self.torch is not None:
            torch.set_rng_state(self.torch)
        for value, state in self.objects:
            try:
                value.__dict__.clear()
                value.__dict__.update(state)
            except Exception:  # an object that refuses: it keeps what measuring left
                pass
        for module, training in self.modes:
            module.training = training


class Monitor:
    """Measures the fit at each tick (see the module docstring) and raises Settled once it holds."""

    def __init__(self, call: dict, namespace: Callable[[], dict], measure: Callable[..., dict],
                 snapshots: list[dict] | None = None):
        self.call = call
        self.snapshots = snapshots if snapshots is not None else []  # predictions measured where they were made
        self.bar = call.get("settle") or {}
        self.namespace = namespace
        self.measure = measure
        self.started = time.process_time()  # the checks' times count CPU: the same epochs idle or busy
        self.next_check = self.started + FIRST
        self.streak = 0
        self.settled: list[dict] = []  # each stop: seconds, R², checks

    def measure_now(self, call: dict, frame: types.FrameType | None = None, perturb: bool = False) -> dict | None:
        """Measure as things stand, leaving the run undisturbed (None if measuring failed)."""
        namespace = {k: v for k, v in self.namespace().items() if not k.startswith("__")}
        frames = self._live_frames(frame)
        Ticker.suspended = True
        try:
            with _Preserved([("module", namespace)] + list(frames.items())):
                return self.measure(namespace, frames, call, perturb=perturb)
        except Exception:  # measuring failed at this point: the final measurement still stands
            return None
        finally:
            Ticker.suspended = False

    def _held(self) -> bool:
        """Whether a prediction measured where the student made it already passes the bar: then any
        training that follows cannot change the verdict, and one good check stops it."""
        pairing = best_pairing({"snapshots": self.snapshots}) if self.snapshots else None
        return self._good(pairing)

    def _good(self, pairing: Any) -> bool:
        return pairing is not None and pairing.against != "training points" and \
            pairing.r2 >= self.bar["settle_r2"] and \
            pairing.passes(self.bar["r2_threshold"], self.bar["line_margin"], self.bar["grid_guard"])

    def _live_frames(self, frame: types.FrameType | None) -> dict[str, dict]:
        frames = {}
        while frame is not None:
            code = frame.f_code
            if code.co_filename.startswith(_STUDENT_FILE) and code.co_name != "<module>":
                frames.setdefault(f"{code.co_name}", dict(frame.f_locals))
            frame = frame.f_back
        return frames

    def tick(self, frame: types.FrameType) -> None:
        now = time.process_time()
        if not self.bar or now < self.next_check:
            return
        measured = self.measure_now(self.call, frame)
        pairing = best_pairing(dict(measured or {}, snapshots=self.snapshots))
        cost = time.process_time() - now
        self.next_check = time.process_time() + max(PERIOD, 4 * cost)
        good = self._good(pairing)
        self.streak = self.streak + 1 if good else 0
        needed = 1 if good and self._held() else STREAK
        if self.streak >= needed:
            self.streak = 0
            self.settled.append({"seconds": round(now - self.started, 2), "r2": round(float(pairing.r2), 5),
                                 "checks": needed})
            raise Settled()
