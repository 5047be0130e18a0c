"""Part 4, function fitting: run the student's fitting code in the sandbox and judge what it trained.

Protocol (the grader's): each fitting unit (grader/fitting/units.py) runs top to bottom under a
fixed seed and a time cap; afterwards the child finds the student's model(s), target function(s)
and data, and evaluates them on a dense grid of 1,000 points over the training interval, points
the student never trained on. Here the model is judged against the target on that grid: R² at
least `[fitting] r2_threshold` and, for a target that is not a straight line, a residual at most
`line_margin` of the best straight line's (a network without ReLU is a line). Thresholds were
calibrated by reference/calibrate_fitting.py (see the README). What cannot be judged is flagged
`needs_human`, with what was looked for: never a silent zero.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from grader.checks.family import Family
from grader.checks.model import CheckResult, install_hint, missing_package
from grader.discover import DATA_SUFFIXES, discover, read_source
from grader.extract import SourceFile
from grader.fitting import formulas, writeup
from grader.fitting.measures import Pairing, against_target, best_pairing, pieces
from grader.probes.parameters import MOVES
from grader.fitting.units import FittingUnit, StaticFacts, find_units
from grader.i18n import N_, _, listing, ntr, tr
from grader.sandbox.jobs import CallOutcome, Job, JobOutcome, Limits
from grader.targets import Located, Target

TARGET = "function_fitting"
CHECKS = ("runs", "test_set", "relu", "fit", "comments", "report", "numpy_bonus")
SHIPPED_SUFFIXES = (".py",) + DATA_SUFFIXES
MEASURE_SECONDS = 120.0  # beyond the run's cap: imports, finding and evaluating models, saving figures
PLOT_POINTS = 200
SETTLE_KEYS = ("settle_r2", "r2_threshold", "line_margin", "grid_guard", "partial_r2")  # the child's early stop (probes/early_stop.py)
LOOKED_FOR = (N_("models: torch nn.Module, Keras/tf models, objects with forward/predict/__call__, "
                 "functions named forward/predict/model; targets: one-argument functions (f, fun1, "
                 "target...) or `y = <expression of x>`; data: arrays named x_train/x_test/x/y..."))


@dataclass
class FittingLocated(Located):
    """Where Part 4 is: its code units (maybe none) and the places its report may be."""

    units: list[FittingUnit] = field(default_factory=list)
    report: writeup.ReportSources = field(default_factory=writeup.ReportSources)
    handin: Path | None = None


def _environment_problem(data: dict) -> tuple[str, str] | None:
    """(what the grading machine lacks, what a human should do) when a statement failed for want of a
    package, of Keras 2 or of a GPU: not the student's fault."""
    if data.get("keras2_missing"):
        return (tr("the code was written for Keras 2 and fails under Keras 3 ({problem})",
                   problem=data["keras2_missing"][:200]),
                N_("a human should judge this fit, or install Keras 2 where dlgrade runs: pip install 'dlgrade[keras2]'"))
    for note in data.get("notes", []):
        package = missing_package(note)
        if package:
            return (tr("the package `{package}` is not installed where dlgrade runs", package=package),
                    install_hint(package))
        if "CUDA" in note or "cuda" in note:
            return (_("the code asks for a GPU (CUDA), which the grading machine does not have"),
                    N_("a human should judge this fit (or make the code fall back to the CPU: `device = 'cuda' if "
                       "torch.cuda.is_available() else 'cpu'`)"))
    return None


def _fit_starts(units: list[FittingUnit]) -> dict[str, int]:
    """File -> the notebook cell from which it speaks of the fit: right after the Parts 1-3 cells
    that come before its fitting cells (0: the whole file)."""
    starts: dict[str, int] = {}
    for unit in units:
        first = unit.cells[0]
        start = 0 if unit.whole_file or not first else unit.file.cells[first - 1].position + 1
        starts[unit.file.display] = min(starts.get(unit.file.display, start), start)
    return starts


class FunctionFitting(Family):
    """The function_fitting target: one job that runs every fitting unit, and the rubric's checks."""

    targets = (TARGET,)

    def __init__(self, limits: Limits, settings: dict[str, float], seed: int = 0, max_file_bytes: int = 64 * 2**20):
        self.settings = settings
        self.seed = seed
        self.max_file_bytes = max_file_bytes
        self.limits = replace(limits, call_timeout=float(settings["time_limit"]) + MEASURE_SECONDS)

    def check_ids(self, target: str) -> list[tuple[str, float]]:
        points = {"runs": 1.0, "test_set": 1.0, "relu": 1.0, "fit": 1.0, "comments": 1.0, "report": 5.0, "numpy_bonus": 0.0}
        return [(f"{TARGET}.{name}", points[name]) for name in CHECKS]

    def locate(self, target: Target, files: list[SourceFile], handin: Path) -> FittingLocated:
        units = find_units(files)
        unread = [f.display for f in files if f.error and not f.cells]
        return FittingLocated(target, units[0].file if units else None, None,
                              [f.display for f in files if f.display not in unread], unread,
                              units=units, handin=handin,
                              report=writeup.collect(handin, files, self.max_file_bytes, _fit_starts(units),
                                                     formulas.code_targets(units)))

    def found(self, located: Located) -> bool:
        return True  # without code, the report is still graded and the rest says what was looked for

    def source(self, located: FittingLocated) -> dict | None:
        if not located.units:
            return None
        unit = located.units[0]
        code = unit.code()
        return {"where": unit.display, "first_line": 1,
                "code": code if len(code) <= 20_000 else code[:20_000] + "\n# ... (cut for the report)"}

    def settled(self, located: FittingLocated) -> list[CheckResult] | None:
        """Without fitting code nor PDF/Word report, nothing needs to run."""
        if located.units or located.report.documents:
            return None
        return self.judge(located, JobOutcome())

    def expected(self, target: str) -> None:
        """Nothing to prepare: the target is the student's own function."""

    def job(self, located: FittingLocated) -> Job:
        calls = []
        if located.report.documents:
            calls.append({"kind": "documents", "documents": {name: np.frombuffer(data, dtype=np.uint8)
                                                             for name, data in located.report.documents.items()}})
        shipped = self._shipped_files(located.handin) if located.units else {}
        root = located.handin if located.handin.is_dir() else located.handin.parent
        for position, unit in enumerate(located.units):
            facts = unit.facts
            folder = Path(unit.file.display).parent.as_posix()
            # the strongest unit gets the whole cap, the others half, so that all fit in a batch's hand-in budget
            cap = self.settings["time_limit"] / (1 if position == 0 else 2)
            calls.append({
                "kind": "run", "plan": unit.plan(), "time_limit": cap,
                "notebook": unit.notebook, "plots": facts.plots, "imports": facts.imports,
                "roles": facts.roles, "watch": sorted(n for n, r in facts.roles.items() if r == "other"),
                "expressions": facts.expressions, "templates": facts.templates, "predictions": facts.predictions, "interval": facts.interval,
                "max_figures": int(self.settings["max_figures"]), "files": shipped, "folder": folder,
                "settle": {key: float(self.settings[key]) for key in SETTLE_KEYS},
                "script": (root / unit.file.display).name})
        where = {label: text for unit in located.units for label, text in unit.where().items()}
        return Job(target=TARGET, probe="fitting", plan={"display": "", "linecache": {}, "cells": []}, calls=calls,
                   where=where, limits=self.limits, seed=self.seed, standalone=True)

    def _shipped_files(self, handin: Path) -> dict[str, np.ndarray]:
        """The hand-in's own scripts and data files (capped), copied beside its fitting code."""
        root = handin if handin.is_dir() else handin.parent
        budget = int(self.settings["max_shipped_mb"] * 2**20)
        shipped = {}
        for path in discover(handin, min(self.max_file_bytes, budget), SHIPPED_SUFFIXES).sources:
            try:
                data = read_source(path, budget)
            except OSError:
                continue
            if len(data) <= budget:
                budget -= len(data)
                shipped[path.relative_to(root).as_posix()] = np.frombuffer(data, dtype=np.uint8)
        return shipped

    # ---- judging -------------------------------------------------------------------------

    def judge(self, located: Located, outcome: JobOutcome) -> list[CheckResult]:
        units: list[FittingUnit] = getattr(located, "units", [])
        report: writeup.ReportSources = getattr(located, "report", writeup.ReportSources())
        calls = list(outcome.calls)
        documents = calls.pop(0) if report.documents and calls else None
        runs = list(zip(units, calls))
        checks = {}
        report_check = self._report(report, documents)
        if not units:
            message = (tr("no function-fitting code found: looked for a notebook or script named like "
                          "fit/拟合/relu/func, or code that samples x (linspace, uniform, arange, rand) and fits it "
                          "with a regression loss and a ReLU network (searched: {searched})",
                          searched=", ".join(located.searched) or _("no .ipynb or .py file")))
            described = bool(report_check.credit)
            for name in CHECKS:
                if name != "report":
                    checks[name] = self._result(name, False, message, needs_human=described and name == "runs",
                                                hint=N_("the report describes a fit, but its code was not found: a "
                                                        "human should look") if described and name == "runs" else None)
            checks["report"] = report_check
            return [checks[name] for name in CHECKS]
        unit, call = self._best_run(runs) if runs else (units[0], None)
        data = (call.data or {}) if call else {}
        pairing = best_pairing(data)
        checks["runs"] = self._runs(unit, call, outcome, data)
        checks["test_set"] = self._best_test_set(runs, unit, data)
        checks["relu"] = self._relu(unit, pairing, data)
        checks["fit"] = self._fit(pairing, data)
        lacking = _environment_problem(data)
        if lacking and not checks["fit"].passed:  # the grading machine lacks what a statement needed: not the student's fault
            checks["fit"].needs_human, checks["fit"].hint = True, _(lacking[1])
        checks["comments"] = self._comments(unit)
        checks["report"] = report_check
        checks["numpy_bonus"] = self._best_bonus(runs, unit, data, checks["fit"])
        return [checks[name] for name in CHECKS]

    def _best_bonus(self, runs: list[tuple[FittingUnit, CallOutcome]], unit: FittingUnit, data: dict,
                    fit: CheckResult) -> CheckResult:
        """The NumPy bonus of the graded unit, or of another unit of the hand-in that earns more (a
        NumPy version handed in beside a PyTorch one)."""
        best = self._numpy_bonus(unit, data, fit)
        for other, call in runs:
            if other is unit or best.bonus == self.settings["numpy_bonus"]:
                continue
            other_data = call.data or {}
            other_fit = self._fit(best_pairing(other_data), other_data)
            candidate = self._numpy_bonus(other, other_data, other_fit)
            if candidate.bonus > best.bonus:
                best = replace(candidate, message=f"{other.display}: {candidate.message}")
        return best

    def _best_test_set(self, runs: list[tuple[FittingUnit, CallOutcome]], unit: FittingUnit,
                       data: dict) -> CheckResult:
        """The test set of the graded unit, or of another fitting piece of the hand-in that has one."""
        best = self._test_set(unit, data)
        for other, call in runs:
            if best.passed:
                break
            if other is not unit:
                candidate = self._test_set(other, call.data or {})
                if candidate.passed:
                    best = replace(candidate, message=f"{other.display}: {candidate.message}")
        return best

    def _result(self, name: str, passed: bool, message: str, hint: str | None = None, details: dict | None = None,
                **extra: object) -> CheckResult:
        points = dict(self.check_ids(TARGET))[f"{TARGET}.{name}"]
        return CheckResult(f"{TARGET}.{name}", TARGET, points, passed, message, _(hint) if hint else None, details,
                           **extra)  # hints here are constants marked N_

    def _best_run(self, runs: list[tuple[FittingUnit, CallOutcome]]) -> tuple[FittingUnit, CallOutcome]:
        """The unit whose run fits best (the first when none could be measured)."""
        scored = []
        for position, (unit, call) in enumerate(runs):
            pairing = best_pairing(call.data or {})
            scored.append(((pairing.r2 if pairing else -math.inf, -position), (unit, call)))
        return max(scored, key=lambda item: item[0])[1]

    def _runs(self, unit: FittingUnit, call: CallOutcome | None, outcome: JobOutcome, data: dict) -> CheckResult:
        details = {"figures": [base64.b64encode(np.asarray(f, dtype=np.uint8).tobytes()).decode("ascii")
                               for f in data.get("figures", [])],
                   "output_tail": data.get("output_tail", ""), "seed": self.seed,
                   "notes": data.get("notes", []), "unit": unit.display, "settled": data.get("settled", [])}
        failure = (call.failure if call else None) or data.get("error") or (outcome.problem if not data else None)
        notes = data.get("notes", [])
        lacking = _environment_problem(data)
        if failure:
            return self._result("runs", False, tr("{display}: the fitting code could not be run to the end: {failure}",
                                                  display=unit.display, failure=failure),
                                details=details)
        if lacking and not data.get("models"):
            message = tr("{display}: {lacking}, so this code could not run ({notes})", display=unit.display,
                         lacking=lacking[0], notes="; ".join(notes[:2]))
            return self._result("runs", False, message, lacking[1], details, needs_human=True)
        how = (_("ran to the end") if data.get("status") == "completed" else
               tr("was stopped at its cap of {cap:g} s of CPU at {where}, and is measured as it stood",
                  cap=data.get("time_limit", self.settings["time_limit"]), where=data.get("stopped_at")))
        if data.get("keras2"):
            how += tr("; it was run again under Keras 2 (tf_keras) because it failed under Keras 3: {problem}",
                      problem=data["keras2"][:200])
        for stop in data.get("settled", []):
            how += ntr("; training was stopped early at {seconds:g} s of CPU ({where}): the fit passed, at R² >= "
                       "{bar:g}, {count} check in a row (last {r2:.4f}), and the statements after it ran",
                       "; training was stopped early at {seconds:g} s of CPU ({where}): the fit passed, at R² >= "
                       "{bar:g}, {count} checks in a row (last {r2:.4f}), and the statements after it ran", stop["checks"],
                       seconds=stop["seconds"], where=stop["where"], bar=self.settings["settle_r2"], r2=stop["r2"])
        found = [m["name"] for m in data.get("models", [])]
        summary = tr("{display} {how} (seed {seed}); models found: {models}", display=unit.display, how=how,
                     seed=self.seed, models=", ".join(found) or _("none"))
        errors = tr("; statements that failed: {notes}", notes="; ".join(notes[:3])) if notes else ""
        if not found and notes:
            return self._result("runs", False, summary + errors, N_("fix the error above: the model was never built"),
                                details)
        return self._result("runs", True, summary + errors, details=details)

    def _test_set(self, unit: FittingUnit, data: dict) -> CheckResult:
        given = data.get("data", {})
        x_test, x_train = given.get("x_test"), given.get("x_train") or given.get("x")
        static = unit.facts.test_names
        if x_test is not None:
            test_values = x_test["values"]
            if x_train is not None:
                train_values = np.sort(x_train["values"])
                positions = np.clip(np.searchsorted(train_values, test_values), 0, len(train_values) - 1)
                nearest = np.minimum(np.abs(train_values[positions] - test_values),
                                     np.abs(train_values[np.maximum(positions - 1, 0)] - test_values))
                scale = max(float(np.ptp(train_values)), 1e-12)
                shared = float(np.mean(nearest <= 1e-9 * scale))
                if shared >= 0.9:
                    return self._result("test_set", False, tr("`{test}` repeats the training points (`{train}`): "
                                                              "{shared:.0%} of its points are training points",
                                                              test=x_test["name"], train=x_train["name"], shared=shared),
                                        N_("sample the test set separately (other points of the interval)"))
                outside = float(np.mean((test_values < train_values[0]) | (test_values > train_values[-1])))
                where = "" if outside <= 0.5 else \
                    tr("; {outside:.0%} of it lies outside the training interval (extrapolation)", outside=outside)
                return self._result("test_set", True, tr("test set `{test}` ({size} points) is distinct from the "
                                                         "training set `{train}` ({train_size} points){where}",
                                                         test=x_test["name"], size=x_test["values"].size,
                                                         train=x_train["name"], train_size=x_train["values"].size,
                                                         where=where))
            return self._result("test_set", True, tr("test set `{name}` ({size} points) found", name=x_test['name'],
                                                     size=test_values.size))
        if static:
            return self._result("test_set", True, tr("a test set is made in the code ({where}); its values were not "
                                                     "reachable after the run", where=", ".join(static[:2])))
        return self._result("test_set", False,
                            _("no test set found: looked for arrays named x_test, x_val, test_x... and train_test_split"),
                            N_("sample a test set distinct from the training set and report the fit on it"))

    def _relu(self, unit: FittingUnit, pairing: Pairing | None, data: dict) -> CheckResult:
        model = pairing.model if pairing else next(iter(data.get("models", [])), None)
        facts = unit.facts
        layers = ", ".join(model.get("layers", [])) if model else ""
        depth = int(model.get("linear_layers", 0)) if model else 0
        deeper = "" if depth <= 2 else tr("; {depth} linear layers, deeper than the exercise's two (reported, not "
                                          "penalised)", depth=depth)
        if model and model.get("relu"):
            return self._result("relu", True, tr("`{name}` is a ReLU network ({layers}){deeper}", name=model['name'],
                                                 layers=layers, deeper=deeper))
        if facts.relu:
            return self._result("relu", True, tr("ReLU in the code: {where}{deeper}", where=facts.relu[0],
                                                 deeper=deeper))
        others = tr(" (it uses {activations})", activations=", ".join(facts.other_activations)) \
            if facts.other_activations else ""
        message = tr("no ReLU found in the model{others}", others=others) + \
            (tr(": layers {layers}", layers=layers) if layers else "")
        return self._result("relu", False, message,
                            N_("the exercise fits the function with a ReLU network: use ReLU as the hidden activation"))

    def _fit(self, pairing: Pairing | None, data: dict) -> CheckResult:
        threshold, margin = self.settings["r2_threshold"], self.settings["line_margin"]
        if pairing is None:
            problems = [tr("`{name}`: {problem}", name=m["name"], problem=m["problem"])
                        for m in data.get("models", []) if m.get("problem")]
            found = "; ".join(problems) or (_("no model") if not data.get("models") else _("no target function"))
            interval = "" if data.get("interval") else _("; the training interval could not be found (no x data)")
            message = tr("the fit could not be measured automatically ({found}{interval}); looked for {looked_for}",
                         found=found, interval=interval, looked_for=_(LOOKED_FOR))
            return self._result("fit", False, message, N_("a human should judge the fit from the figures"),
                                needs_human=True)
        run, data = data, pairing.measured or data
        model, target = pairing.model, pairing.target
        details = self._plot_details(data, pairing)
        guard, partial = self.settings["grid_guard"], self.settings["partial_r2"]
        low, high = data["interval"]
        spanned = data.get("grid_interval") or data["interval"]
        grid = tr("{count} points spanning the training interval [{low:.3g}, {high:.3g}]", count=len(data["grid"]),
                  low=low, high=high) if spanned == data["interval"] else \
            tr("{count} points spanning [{low:.3g}, {high:.3g}] (the training interval and the student's test points)",
               count=len(data["grid"]), low=spanned[0], high=spanned[1])
        if pairing.against == "test set":
            against = tr("the student's {count} test points within the training interval [{low:.3g}, {high:.3g}]",
                         count=pairing.test_points, low=low, high=high)
        elif pairing.against == "grid":
            against = grid
        else:
            against = tr("the student's {against}", against=_(pairing.against))
        truth = f"`{target['name']}`" if target else _("the student's own y")
        line = "" if pairing.line_r2 is None else tr("; a straight line reaches R² {line_r2:.3f}", line_r2=pairing.line_r2)
        summary = tr("`{name}` against {truth} on {against}: R² {r2:.4f}, max error {max_error:.3g}{line}",
                     name=model["name"], truth=truth, against=against, r2=pairing.r2, max_error=pairing.max_error,
                     line=line)
        if pairing.grid_r2 is not None:
            summary += tr("; on {grid} (the guard against memorising and straight lines, >= {guard:g}): R² {grid_r2:.4f}",
                          grid=grid, guard=guard, grid_r2=pairing.grid_r2)
        if data.get("at"):
            summary += tr("; measured right after the student's prediction at {at}", at=data["at"])
        others = self._other_pairs(data, pairing)
        if others:
            summary += tr(" (also measured: {others})", others=others)
        judged = pieces(run)
        details["pieces"] = [{"name": p.model["name"], "r2": p.r2 if math.isfinite(p.r2) else None,
                              "against": p.against, "at": (p.measured or {}).get("at")} for p in judged]
        if len(judged) > 1:
            summary += tr("; each piece of fitting code was judged and the best counts: {pieces}", pieces="; ".join(
                tr("`{name}` R² {r2:.4f}", name=p.model["name"], r2=p.r2) for p in judged))
        needs_human = pairing.against == "training points"
        if needs_human:
            summary += _("; no target function nor test set was found, so only the training points were compared")
        if not math.isfinite(pairing.r2):
            return self._result("fit", False, summary,
                                N_("the model outputs NaN or inf: the training diverged (lower the learning rate)"),
                                details, needs_human=needs_human)
        origin, trained_by = self._origin(pairing.model)
        summary += origin
        if pairing.passes(threshold, margin, guard):
            if trained_by is None:
                return self._result("fit", False, summary, N_("a human should check that the predictions come from a "
                                                              "trained network"), details, needs_human=True)
            if not trained_by:
                return self._result("fit", False, summary, N_("the fit must come from the network: its output should "
                                                              "depend on the weights it learned"), details)
            return self._result("fit", True, summary, details=details, needs_human=needs_human)
        if pairing.r2 < threshold:
            failed = tr("; pass: R² >= {threshold:g}", threshold=threshold)
            hint = N_("the model does not follow the function between the training points: train longer, "
                      "or check the loss and the update")
        elif pairing.grid_r2 is not None and not pairing.grid_r2 >= guard:
            failed = tr("; between the test points it strays from the function (R² {grid_r2:.3f} < {guard:g} on "
                        "the dense grid)", grid_r2=pairing.grid_r2, guard=guard)
            hint = N_("the model fits its test points but not the function between them: sample the interval "
                      "more densely or train longer")
        else:
            failed = tr("; a fit must leave at most {margin:.0%} of the line's residual", margin=margin)
            hint = N_("the model is no better than a straight line: is there a ReLU between the layers?")
        if run.get("reruns"):
            return self._reruns(run, summary + failed, hint, details, needs_human)
        if partial <= pairing.r2 < threshold and (pairing.grid_r2 is None or pairing.grid_r2 >= partial):
            failed += tr("; a borderline fit (R² >= {partial:g}) earns half the point", partial=partial)
            return self._result("fit", False, summary + failed, hint, details, credit=0.5, needs_human=needs_human)
        return self._result("fit", False, summary + failed, hint, details, needs_human=needs_human)

    def _reruns(self, run: dict, summary: str, hint: str, details: dict, needs_human: bool) -> CheckResult:
        """A borderline fit was run again under other seeds (probes/fitting.py): it passes when most
        seeds fit, earns half the point when only one does (unstable), and fails when none does."""
        threshold, margin, guard = (self.settings[k] for k in ("r2_threshold", "line_margin", "grid_guard"))
        results = [(rerun.get("seed"), best_pairing(rerun)) for rerun in run["reruns"]]
        passing = [seed for seed, pairing in results if pairing and pairing.passes(threshold, margin, guard)]
        seeds = "; ".join(tr("seed {seed}: R² {r2:.4f}", seed=seed, r2=pairing.r2) if pairing else
                          tr("seed {seed}: not measured", seed=seed) for seed, pairing in results)
        summary += tr("; run again under other seeds ({seeds})", seeds=seeds)
        if len(passing) * 2 > len(results) + 1:  # most runs fit, the first (borderline) one included
            return self._result("fit", True, summary + _("; most seeds fit: it passes, though the fit depends on "
                                                         "the initialisation"), details=details, needs_human=needs_human)
        if passing:
            return self._result("fit", False, summary + _("; only some seeds fit (unstable): half the point"), hint,
                                details, credit=0.5, needs_human=needs_human)
        return self._result("fit", False, summary, hint, details, needs_human=needs_human)

    @staticmethod
    def _origin(model: dict) -> tuple[str, bool | None]:
        """What perturbing the model's parameters showed (probes/parameters.py), and whether the fit
        comes from them: True, False, or None when no parameter was found."""
        perturbed = model.get("perturbed")
        if not perturbed or perturbed.get("change") is None and perturbed.get("arrays"):
            return _("; whether its output depends on its parameters could not be checked"), True
        if not perturbed["arrays"]:
            return _("; no parameters (weights) were found that its output could come from"), None
        if perturbed["change"] < MOVES:
            return tr("; perturbing its {arrays} parameter arrays by 10% moves its output by only {change:.2g} of its "
                      "range: the output does not come from the network", arrays=perturbed["arrays"],
                      change=perturbed["change"]), False
        return tr("; its output moves with its {arrays} parameter arrays (by {change:.2g} of its range when they are "
                  "perturbed by 10%)", arrays=perturbed["arrays"], change=perturbed["change"]), True

    def _other_pairs(self, data: dict, chosen: Pairing) -> str:
        """R² of the other model/target pairs of the same domain (several targets in one notebook)."""
        texts = []
        for model in data.get("models", []):
            for target in data.get("targets", []):
                if model is chosen.model and target is chosen.target or not isinstance(target.get("grid"), np.ndarray):
                    continue
                pairing = against_target(model, target, data)
                if pairing is not None and math.isfinite(pairing.r2):
                    texts.append(tr("`{model}` vs `{target}` R² {r2:.3f}", model=model["name"], target=target["name"],
                                    r2=pairing.r2))
        return "; ".join(texts[:6])

    @staticmethod
    def _plot_details(data: dict, pairing: Pairing) -> dict:
        """Down-sampled curves for the report's plot of model vs target."""
        details: dict = {"r2": pairing.r2 if math.isfinite(pairing.r2) else None, "against": pairing.against}
        grid = data.get("grid")
        if pairing.target is not None and isinstance(grid, np.ndarray):
            step = max(1, len(grid) // PLOT_POINTS)
            model = pairing.model["grid"][::step]
            details["plot"] = {"x": grid[::step].tolist(), "target": pairing.truth[::step].tolist(),
                               "model": [float(v) if math.isfinite(v) else None for v in model],
                               "model_name": pairing.model["name"], "target_name": pairing.target["name"]}
            train = (data.get("data", {}).get("x_train") or data.get("data", {}).get("x") or {}).get("values")
            if isinstance(train, np.ndarray):
                details["plot"]["train_x"] = train[:: max(1, len(train) // PLOT_POINTS)].tolist()
        return details

    def _comments(self, unit: FittingUnit) -> CheckResult:
        facts, threshold = unit.facts, self.settings["comment_share"]
        summary = (tr("{comment_lines} comment or docstring lines for {code_lines} lines of code in {display} "
                      "({comment_share:.0%}; pass >= {threshold:.0%})", comment_lines=facts.comment_lines,
                      code_lines=facts.code_lines, display=unit.display, comment_share=facts.comment_share,
                      threshold=threshold))
        if facts.comment_share >= threshold:
            return self._result("comments", True, summary)
        return self._result("comments", False, summary, N_("explain the code: what each block does, the shapes, the "
                                                           "choice of function, interval, width, learning rate"))

    def _report(self, report: writeup.ReportSources, documents: CallOutcome | None) -> CheckResult:
        texts = list(report.texts)
        unreadable = dict((documents.data or {}).get("problems", {})) if documents else {}
        if documents is not None:
            if documents.data is None or "texts" not in documents.data:
                unreadable.update({name: documents.failure or (documents.data or {}).get("error", _("not read"))
                                   for name in report.documents})
            else:
                texts += [writeup.ReportText(name, text) for name, text in documents.data["texts"].items()]
        verdict = writeup.judge(texts, report.targets)
        empty = [name for name, text in ((documents.data or {}).get("texts", {}) if documents else {}).items()
                 if len(text.strip()) < 20 or writeup.garbled(text)]
        found, missing = verdict.sections, verdict.missing
        credit = len(found) / len(writeup.SECTIONS)
        aside = tr("; set aside as the course's handout: {files}", files=", ".join(verdict.set_aside)) \
            if verdict.set_aside else ""
        read = tr("read: {files}", files=", ".join(verdict.used)) if verdict.used else _("no report text found")
        details = {"sections": found, "missing": missing, "used": verdict.used, "set_aside": verdict.set_aside,
                   "evidence": [item.to_dict() for item in verdict.evidence]}
        human = bool(unreadable or empty) and bool(missing)
        if unreadable or empty or report.notes:
            aside += _("; could not read: ") + ", ".join([f"{n} ({p})" for n, p in unreadable.items()]
                                                         + [tr("{file} (no readable text layer: scanned, or fonts without a Unicode map?)", file=n)
                                                            for n in empty]
                                                         + report.notes)
        message = tr("report sections found: {found}", found=listing([_(name) for name in found]) or _("none"))
        if missing:
            message += tr("; missing: {missing}", missing=listing([_(name) for name in missing]))
        for item in verdict.thin:  # one short line, or a pointer to what a document's text lost: a reviewer checks
            message += tr("; {section} rests on one line only, {why} ({where}: \"{text}\")", section=_(item.section),
                          why=item.why or _("a short one"), where=item.where, text=item.text)
        message += f" ({read}{aside})"
        hint = None if not missing else N_("the report must cover the function's definition, how the data were collected, "
                                           "the model and the fitting result (函数定义 / 数据采集 / 模型描述 / 拟合效果)")
        return self._result("report", not missing, message, hint, details, credit=credit, needs_human=human)

    def _numpy_piece_bonus(self, facts: StaticFacts, data: dict, frameworks: str, points: float) -> CheckResult:
        """The bonus of a unit that also uses a framework: its NumPy piece with a hand-written backward pass
        (a NumPy network, then a PyTorch one) earns it when that piece fits on its own."""
        numpy_pieces = [p for p in pieces(data) if "framework" in p.model and p.model["framework"] is None
                        and p.model.get("kind") not in ("torch", "keras")] if facts.hand_backward else []
        if not numpy_pieces:
            return self._result("numpy_bonus", False, tr("no NumPy bonus: the fitting code uses {frameworks}",
                                                         frameworks=frameworks))
        piece = numpy_pieces[0]
        if not self._fit(piece, data).passed:
            return self._result("numpy_bonus", False, tr(
                "no NumPy bonus: the NumPy piece `{name}` beside the {frameworks} code does not fit (R² {r2:.4f})",
                name=piece.model["name"], frameworks=frameworks, r2=piece.r2))
        return self._result("numpy_bonus", True, tr(
            "the NumPy piece `{name}` has a hand-written backward pass ({where}) and fits on its own (R² {r2:.4f}), "
            "beside the {frameworks} code: +{earned:g} extra points", name=piece.model["name"],
            where=facts.hand_backward[0], r2=piece.r2, frameworks=frameworks, earned=points), bonus=points)

    def _numpy_bonus(self, unit: FittingUnit, data: dict, fit: CheckResult) -> CheckResult:
        facts, points = unit.facts, float(self.settings["numpy_bonus"])
        frameworks = list(facts.frameworks)
        if data.get("torch_used") and "PyTorch" not in frameworks and "torch" in facts.imports:
            frameworks.append("PyTorch")
        if frameworks:
            return self._numpy_piece_bonus(facts, data, ', '.join(frameworks), points)
        if facts.autograd:
            return self._result("numpy_bonus", False, tr("no NumPy bonus: gradients come from automatic "
                                                         "differentiation ({where})", where=facts.autograd[0]))
        if not facts.hand_backward:
            return self._result("numpy_bonus", False, _("no NumPy bonus: no hand-written backward pass found "
                                                        "(a backward/gradient function, or gradient arrays such as "
                                                        "dW1 = ...)"))
        earned = points if fit.passed else points / 2
        why = _("and it fits") if fit.passed else _("but it does not fit yet (half the bonus)")
        message = tr("pure NumPy with a hand-written backward pass ({where}) {why}: +{earned:g} extra points",
                     where=facts.hand_backward[0], why=why, earned=earned)
        return self._result("numpy_bonus", fit.passed, message, bonus=earned)
