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
from grader.fitting import writeup
from grader.fitting.units import FittingUnit, find_units
from grader.i18n import N_, _, listing, tr
from grader.sandbox.jobs import CallOutcome, Job, JobOutcome, Limits
from grader.targets import Located, Target

TARGET = "function_fitting"
CHECKS = ("runs", "test_set", "relu", "fit", "comments", "report", "numpy_bonus")
SHIPPED_SUFFIXES = (".py",) + DATA_SUFFIXES
MEASURE_SECONDS = 120.0  # beyond the run's cap: imports, finding and evaluating models, saving figures
PLOT_POINTS = 200
LOOKED_FOR = (N_("models: torch nn.Module, Keras/tf models, objects with forward/predict/__call__, "
                 "functions named forward/predict/model; targets: one-argument functions (f, fun1, "
                 "target...) or `y = <expression of x>`; data: arrays named x_train/x_test/x/y..."))


@dataclass
class FittingLocated(Located):
    """Where Part 4 is: its code units (maybe none) and the places its report may be."""

    units: list[FittingUnit] = field(default_factory=list)
    report: writeup.ReportSources = field(default_factory=writeup.ReportSources)
    handin: Path | None = None


@dataclass
class Pairing:
    """One model measured against one target (or against the student's own data)."""

    model: dict
    target: dict | None
    r2: float
    max_error: float
    line_r2: float | None
    against: str  # "grid", "test set" or "training points"
    truth: np.ndarray | None = None  # the target on the grid, noise mean added (see _noise_mean)

    def passes(self, threshold: float, margin: float) -> bool:
        if not math.isfinite(self.r2) or self.r2 < threshold:
            return False
        if self.line_r2 is None or self.line_r2 >= 0.999:  # a (nearly) straight target: any good fit will do
            return True
        return (1 - self.r2) <= margin * (1 - self.line_r2)


def r_squared(predicted: np.ndarray, truth: np.ndarray) -> float:
    """1 - SS_res / SS_tot; -inf for NaN or inf predictions."""
    if predicted.shape != truth.shape or not np.isfinite(predicted).all():
        return -math.inf
    residual = float(np.sum((predicted - truth) ** 2))
    total = float(np.sum((truth - truth.mean()) ** 2))
    return 1.0 - residual / total if total > 0 else (1.0 if residual < 1e-12 else -math.inf)


def line_r_squared(x: np.ndarray, truth: np.ndarray) -> float:
    """R² of the best straight line through (x, truth): what a network without ReLU can reach."""
    design = np.stack([x, np.ones_like(x)], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, truth, rcond=None)
    return r_squared(design @ coefficients, truth)


def _environment_problem(notes: list[str]) -> tuple[str, str] | None:
    """(what the grading machine lacks, what a human should do) when a statement failed for want of a
    package or of a GPU: not the student's fault."""
    for note in notes:
        package = missing_package(note)
        if package:
            return (tr("the package `{package}` is not installed where dlgrade runs", package=package),
                    install_hint(package))
        if "CUDA" in note or "cuda" in note:
            return (_("the code asks for a GPU (CUDA), which the grading machine does not have"),
                    N_("a human should judge this fit (or make the code fall back to the CPU: `device = 'cuda' if "
                       "torch.cuda.is_available() else 'cpu'`)"))
    return None


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
                              report=writeup.collect(handin, files, self.max_file_bytes, {u.file.display for u in units}))

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
                "expressions": facts.expressions, "templates": facts.templates, "interval": facts.interval,
                "max_figures": int(self.settings["max_figures"]), "files": shipped, "folder": folder,
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
        pairing = self._pairing(data)
        checks["runs"] = self._runs(unit, call, outcome, data)
        checks["test_set"] = self._test_set(unit, data)
        checks["relu"] = self._relu(unit, pairing, data)
        checks["fit"] = self._fit(pairing, data)
        lacking = _environment_problem(data.get("notes", []))
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
            other_fit = self._fit(self._pairing(other_data), other_data)
            candidate = self._numpy_bonus(other, other_data, other_fit)
            if candidate.bonus > best.bonus:
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
            pairing = self._pairing(call.data or {})
            scored.append(((pairing.r2 if pairing else -math.inf, -position), (unit, call)))
        return max(scored, key=lambda item: item[0])[1]

    def _pairing(self, data: dict) -> Pairing | None:
        """The best (model, target) pair on the grid; else the best model on the student's own data."""
        models = [m for m in data.get("models", []) if isinstance(m.get("grid"), np.ndarray)]
        targets = [t for t in data.get("targets", []) if isinstance(t.get("grid"), np.ndarray)]
        grid = data.get("grid")
        pairs = []
        for model in models:
            for target in targets:
                if model["grid"].shape == target["grid"].shape and np.isfinite(target["grid"]).all():
                    truth = target["grid"] + self._noise_mean(target, data.get("data", {}))
                    pairs.append(Pairing(model, target, r_squared(model["grid"], truth),
                                         float(np.max(np.abs(model["grid"] - truth))) if np.isfinite(model["grid"]).all() else math.inf,
                                         line_r_squared(grid, truth), "grid", truth))
        if not pairs:
            given = data.get("data", {})
            for model in models:
                for role, label in (("test", N_("test set")), ("train", N_("training points"))):
                    predicted, truth = model.get(f"on_x_{role}"), (given.get(f"y_{role}") or {}).get("values")
                    if predicted is None and role == "train":
                        predicted, truth = model.get("on_x"), (given.get("y") or {}).get("values")
                    if isinstance(predicted, np.ndarray) and isinstance(truth, np.ndarray) and predicted.shape == truth.shape:
                        finite = np.isfinite(predicted).all()
                        pairs.append(Pairing(model, None, r_squared(predicted, truth),
                                             float(np.max(np.abs(predicted - truth))) if finite else math.inf, None, label))
                        break
        return max(pairs, key=lambda p: (p.r2, p.against == "grid")) if pairs else None

    @staticmethod
    def _noise_mean(target: dict, given: dict) -> float:
        """The mean of the noise taken off an inline target (`x.pow(2) + 0.2 * torch.rand(...)` adds 0.1
        on average): what the student's own y holds above the noiseless expression."""
        if not target.get("noisy"):
            return 0.0
        for role in ("train", ""):
            on_x, y = target.get(f"on_x_{role}" if role else "on_x"), (given.get(f"y_{role}" if role else "y") or {}).get("values")
            if isinstance(on_x, np.ndarray) and isinstance(y, np.ndarray) and on_x.shape == y.shape:
                offset = float(np.mean(y - on_x))
                return offset if math.isfinite(offset) else 0.0
        return 0.0

    def _runs(self, unit: FittingUnit, call: CallOutcome | None, outcome: JobOutcome, data: dict) -> CheckResult:
        details = {"figures": [base64.b64encode(np.asarray(f, dtype=np.uint8).tobytes()).decode("ascii")
                               for f in data.get("figures", [])],
                   "output_tail": data.get("output_tail", ""), "seed": self.seed,
                   "notes": data.get("notes", []), "unit": unit.display}
        failure = (call.failure if call else None) or data.get("error") or (outcome.problem if not data else None)
        notes = data.get("notes", [])
        lacking = _environment_problem(notes)
        if failure:
            return self._result("runs", False, tr("{display}: the fitting code could not be run to the end: {failure}",
                                                  display=unit.display, failure=failure),
                                details=details)
        if lacking and not data.get("models"):
            message = tr("{display}: {lacking}, so this code could not run ({notes})", display=unit.display,
                         lacking=lacking[0], notes="; ".join(notes[:2]))
            return self._result("runs", False, message, lacking[1], details, needs_human=True)
        how = (_("ran to the end") if data.get("status") == "completed" else
               tr("was stopped at its {cap:g} s cap at {where}, and is measured as it stood",
                  cap=data.get("time_limit", self.settings["time_limit"]), where=data.get("stopped_at")))
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
        model, target = pairing.model, pairing.target
        details = self._plot_details(data, pairing)
        if target:
            against = tr("`{name}` on {count} points spanning the training interval [{low:.3g}, {high:.3g}]",
                         name=target["name"], count=len(data["grid"]), low=data["interval"][0], high=data["interval"][1])
        else:
            against = tr("the student's {against}", against=_(pairing.against))
        line = "" if pairing.line_r2 is None else tr("; a straight line reaches R² {line_r2:.3f}", line_r2=pairing.line_r2)
        summary = tr("`{name}` against {against}: R² {r2:.4f}, max error {max_error:.3g}{line}", name=model['name'],
                     against=against, r2=pairing.r2, max_error=pairing.max_error, line=line)
        others = self._other_pairs(data, pairing)
        if others:
            summary += tr(" (also measured: {others})", others=others)
        needs_human = pairing.against == "training points"
        if needs_human:
            summary += _("; no target function nor test set was found, so only the training points were compared")
        if not math.isfinite(pairing.r2):
            return self._result("fit", False, summary,
                                N_("the model outputs NaN or inf: the training diverged (lower the learning rate)"),
                                details, needs_human=needs_human)
        if pairing.r2 < threshold:
            return self._result("fit", False, summary + tr("; pass: R² >= {threshold:g}", threshold=threshold),
                                N_("the model does not follow the function between the training points: train longer, "
                                   "or check the loss and the update"), details, needs_human=needs_human)
        if not pairing.passes(threshold, margin):
            return self._result("fit", False, summary + tr("; a fit must leave at most {margin:.0%} of the line's "
                                                           "residual", margin=margin),
                                N_("the model is no better than a straight line: is there a ReLU between the layers?"),
                                details, needs_human=needs_human)
        return self._result("fit", True, summary, details=details, needs_human=needs_human)

    def _other_pairs(self, data: dict, chosen: Pairing) -> str:
        """R² of the other model/target pairs (several targets in one notebook)."""
        texts = []
        for model in data.get("models", []):
            for target in data.get("targets", []):
                if model is chosen.model and target is chosen.target:
                    continue
                if isinstance(model.get("grid"), np.ndarray) and isinstance(target.get("grid"), np.ndarray):
                    texts.append(tr("`{model}` vs `{target}` R² {r2:.3f}", model=model["name"], target=target["name"],
                                    r2=r_squared(model["grid"], target["grid"])))
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
        verdict = writeup.judge(texts)
        empty = [name for name, text in ((documents.data or {}).get("texts", {}) if documents else {}).items()
                 if len(text.strip()) < 20]
        found, missing = verdict.sections, verdict.missing
        credit = len(found) / len(writeup.SECTIONS)
        aside = tr("; set aside as the course's handout: {files}", files=", ".join(verdict.set_aside)) \
            if verdict.set_aside else ""
        read = tr("read: {files}", files=", ".join(verdict.used)) if verdict.used else _("no report text found")
        details = {"sections": found, "missing": missing, "used": verdict.used, "set_aside": verdict.set_aside}
        human = bool(unreadable or empty) and not found
        if unreadable or empty or report.notes:
            aside += _("; could not read: ") + ", ".join([f"{n} ({p})" for n, p in unreadable.items()]
                                                         + [tr("{file} (no text layer: scanned?)", file=n) for n in empty]
                                                         + report.notes)
        message = tr("report sections found: {found}", found=listing([_(name) for name in found]) or _("none"))
        if missing:
            message += tr("; missing: {missing}", missing=listing([_(name) for name in missing]))
        message += f" ({read}{aside})"
        hint = None if not missing else N_("the report must cover the function's definition, how the data were collected, "
                                           "the model and the fitting result (函数定义 / 数据采集 / 模型描述 / 拟合效果)")
        return self._result("report", not missing, message, hint, details, credit=credit, needs_human=human)

    def _numpy_bonus(self, unit: FittingUnit, data: dict, fit: CheckResult) -> CheckResult:
        facts, points = unit.facts, float(self.settings["numpy_bonus"])
        frameworks = list(facts.frameworks)
        if data.get("torch_used") and "PyTorch" not in frameworks and "torch" in facts.imports:
            frameworks.append("PyTorch")
        if frameworks:
            return self._result("numpy_bonus", False, tr("no NumPy bonus: the fitting code uses {frameworks}",
                                                         frameworks=', '.join(frameworks)))
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
