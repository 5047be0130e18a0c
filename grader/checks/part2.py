"""Part 2: the numpy layers' backward passes, judged by finite differences and by TensorFlow.

For each layer (Matmul, Relu; the given Softmax and Log are reported with no points by
default) the parent makes seeded inputs and a random upstream gradient `grad_y`, asks the
child for the student's forward and backward, and for the student's forward at inputs
perturbed by ±h. With L = sum(forward(inputs) * grad_y), the central differences of L give
the gradient the student's own forward implies; `tf.GradientTape` gives the true one.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Callable

import numpy as np

from grader.checks.compare import Tolerance, describe, matches, mismatch
from grader.checks.family import Family
from grader.checks.model import CheckResult, all_failed
from grader.i18n import N_, _, listing, tr
from grader import references
from grader.sandbox.jobs import CallOutcome, Job, JobOutcome, Limits
from grader.extract import Definition
from grader.targets import Located

Array = np.ndarray
STEP = 1e-4  # the layers are (piecewise) linear, so a large step is exact and robust to rounding
KINK_DISTANCE = 0.1  # ReLU inputs are kept at least this far from 0
MAX_FD_ELEMENTS = 400  # per input tensor; larger tensors get a seeded sample
PASS_RELATIVE_ERROR = 1e-4  # default; a course may set [tolerances] gradient_relative_error


def relative_error(a: Array, b: Array) -> float:
    """max |a - b| / max(|a| + |b|): the gradient-check measure instructors use."""
    scale = float(np.max(np.abs(a) + np.abs(b))) if a.size else 0.0
    return float(np.max(np.abs(a - b))) / max(scale, 1e-12) if a.size else 0.0


def band(error: float) -> str:
    if error < 1e-7:
        return _("exact")
    if error <= PASS_RELATIVE_ERROR:
        return _("close")
    return _("suspicious") if error <= 1e-2 else _("wrong")


@dataclass
class LayerCase:
    """One forward/backward of a fresh layer: the forward inputs and the upstream gradient."""

    inputs: list[Array]
    grad_y: Array
    elements: list[Array]  # per input: flat indices whose gradient is checked by differences

    @property
    def label(self) -> str:
        return tr("inputs of shapes {shapes}", shapes=", ".join(str(tuple(a.shape)) for a in self.inputs))


@dataclass
class LayerMistake:
    """A known wrong backward for one returned tensor (index), recognised by its value."""

    index: int
    hint: str
    value: Callable[[list[Array], Array], Array]


@dataclass
class LayerSpec:
    target: str
    input_names: list[str]  # ["x", "W"] or ["x"]
    make_inputs: Callable[[np.random.Generator, tuple[int, ...]], list[Array]]
    shapes: list[tuple[int, ...]]
    forward_np: Callable[..., Array]
    forward_tf: Callable[..., object]
    points: dict[str, float]
    mistakes: list[LayerMistake] = field(default_factory=list)
    error_hints: list[tuple[str, str]] = field(default_factory=list)

    @property
    def gradient_names(self) -> list[str]:
        return [f"grad_{name}" for name in self.input_names]


_COMMON_ERROR_HINTS = [
    (r"returned None|返回了 None", N_("backward must `return` its gradient(s); it returned None")),
    (r"KeyError", N_("backward reads a key of self.mem that forward did not store")),
]


def _matmul_inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> list[Array]:
    n, d, d_out = shape
    return [rng.normal(size=(n, d)), rng.normal(size=(d, d_out))]


def _away_from_kink(rng: np.random.Generator, shape: tuple[int, ...]) -> list[Array]:
    x = rng.normal(size=shape)
    return [np.sign(x) * (np.abs(x) + KINK_DISTANCE)]


def _positive(rng: np.random.Generator, shape: tuple[int, ...]) -> list[Array]:
    return [rng.uniform(0.2, 2.0, size=shape)]


def _matmul_grads(inputs: list[Array], grad_y: Array) -> list[Array]:
    x, w = inputs
    return [grad_y @ w.T, x.T @ grad_y]


def _relu_mask(inputs: list[Array]) -> Array:
    return (inputs[0] > 0).astype(np.float64)


def _tf():
    """TensorFlow, imported only when a reference is not shipped (grader/references.py)."""
    import tensorflow as tf

    return tf


def _specs() -> dict[str, LayerSpec]:
    layer_points = {"forward": 1.0, "contract": 1.0, "backward_fd": 3.0, "backward_tf": 3.0}
    given_points = dict.fromkeys(layer_points, 0.0)
    batch_hint = N_("divides by the batch size: the notebook's loss sums over the batch "
                    "(and train_one_step uses the summed gradient), so backward must not average")
    matmul = LayerSpec(
        target="Matmul", input_names=["x", "W"], make_inputs=_matmul_inputs, shapes=[(5, 6, 4), (3, 7, 2)],
        forward_np=lambda x, w: x @ w, forward_tf=lambda x, w: _tf().matmul(x, w), points=layer_points,
        mistakes=[
            LayerMistake(0, batch_hint, lambda i, g: _matmul_grads(i, g)[0] / len(i[0])),
            LayerMistake(1, batch_hint, lambda i, g: _matmul_grads(i, g)[1] / len(i[0])),
            LayerMistake(0, N_("sign error in grad_x: grad_x = grad_y @ W.T"), lambda i, g: -_matmul_grads(i, g)[0]),
            LayerMistake(1, N_("sign error in grad_W: grad_W = x.T @ grad_y"), lambda i, g: -_matmul_grads(i, g)[1]),
        ],
        error_hints=[(r"not aligned|mismatch in (its )?core dimension|Matrix size-incompatible|shapes .* and .* not",
                      N_("a transpose is missing: grad_x = grad_y @ W.T and grad_W = x.T @ grad_y"))],
    )
    relu = LayerSpec(
        target="Relu", input_names=["x"], make_inputs=_away_from_kink, shapes=[(5, 6), (3, 8)],
        forward_np=lambda x: np.maximum(x, 0), forward_tf=lambda x: _tf().nn.relu(x), points=layer_points,
        mistakes=[
            LayerMistake(0, N_("the mask is computed on grad_y; it must come from the forward input (self.mem['x'] > "
                               "0)"),
                         lambda i, g: g * (g > 0)),
            LayerMistake(0, N_("returns the mask (x > 0) without multiplying it by grad_y"), lambda i, g: _relu_mask(i)),
            LayerMistake(0, N_("identity backward: grad_y must be multiplied by the mask (x > 0)"), lambda i, g: g),
            LayerMistake(0, N_("the mask is inverted: the gradient passes where x > 0, not where x < 0"),
                         lambda i, g: g * (1 - _relu_mask(i))),
            LayerMistake(0, N_("returns the forward output relu(x), not a gradient"), lambda i, g: np.maximum(i[0], 0)),
            LayerMistake(0, batch_hint, lambda i, g: g * _relu_mask(i) / len(i[0])),
        ],
    )
    softmax = LayerSpec(
        target="Softmax", input_names=["x"], make_inputs=lambda r, s: [r.normal(size=s)], shapes=[(5, 6), (2, 10)],
        forward_np=lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
        forward_tf=lambda x: _tf().nn.softmax(x, axis=-1), points=given_points,
    )
    log = LayerSpec(
        target="Log", input_names=["x"], make_inputs=_positive, shapes=[(5, 6), (4, 10)],
        forward_np=np.log, forward_tf=lambda x: _tf().math.log(x), points=given_points,
    )
    return {spec.target: spec for spec in (matmul, relu, softmax, log)}


GIVEN_CLASSES = ("Softmax", "Log")  # handed out with the homework; 0 points by default


def fingerprint(definition: Definition) -> str:
    """sha256 of the definition's syntax tree: equal for copies that differ only in comments or layout."""
    return hashlib.sha256(ast.dump(definition.node, include_attributes=False).encode()).hexdigest()


@cache
def given_fingerprints() -> dict[str, str]:
    text = resources.files("grader.data").joinpath("given_code.json").read_text(encoding="utf-8")
    return json.loads(text)["sha256_of_ast"]


class Part2(Family):
    """The numpy layers: jobs to probe them and the judgement of what came back."""

    mergeable = True  # its functions of one file are probed by one child

    targets = ("Matmul", "Relu", "Softmax", "Log")

    def __init__(self, limits: Limits = Limits(), pass_relative_error: float = PASS_RELATIVE_ERROR) -> None:
        self.limits = limits
        self.pass_relative_error = pass_relative_error
        self._specs: dict[str, LayerSpec] = {}
        self._cases: dict[str, list[LayerCase]] = {}
        self._expected: dict[str, list[list[Array]]] = {}

    def spec(self, target: str) -> LayerSpec:
        if not self._specs:
            self._specs = _specs()
        return self._specs[target]

    def check_ids(self, target: str) -> list[tuple[str, float]]:
        return [(f"{target}.{name}", points) for name, points in self.spec(target).points.items()]

    def cases(self, target: str) -> list[LayerCase]:
        if target not in self._cases:
            spec = self.spec(target)
            rng = np.random.default_rng(zlib.crc32(f"part2.{target}".encode()))
            cases = []
            for shape in spec.shapes:
                inputs = spec.make_inputs(rng, shape)
                grad_y = rng.normal(size=spec.forward_np(*inputs).shape)
                elements = [np.sort(rng.choice(a.size, min(a.size, MAX_FD_ELEMENTS), replace=False)) for a in inputs]
                cases.append(LayerCase(inputs, grad_y, elements))
            self._cases[target] = cases
        return self._cases[target]

    def settled(self, located: Located) -> list[CheckResult] | None:
        """The checks of a given class left exactly as handed out, without running it (that code
        passes them; a test runs it to prove so); None when the class must be run."""
        name = located.target.name
        if name not in GIVEN_CLASSES or fingerprint(located.definition) != given_fingerprints().get(name):
            return None
        message = tr("`{name}` is the given code, unchanged (same syntax tree): it passes this check, "
                     "so it was not run again", name=name)
        return [CheckResult(check_id, name, points, True, message) for check_id, points in self.check_ids(name)]

    def job(self, located: Located) -> Job:
        cases = self.cases(located.target.name)
        calls = [{"kind": "roundtrip", "inputs": case.inputs, "grad_y": case.grad_y} for case in cases]
        calls += [{"kind": "forward_many", "inputs_list": _perturbations(case)} for case in cases]
        file = located.file
        return Job(target=located.target.name, probe="layer", plan=located.load_plan(), calls=calls,
                   where={c.label: c.where for c in file.cells}, limits=self.limits)

    def inputs_digest(self, target: str) -> str:
        """A digest of every input the references of `target` are computed on."""
        return references.digest(a for case in self.cases(target) for a in [*case.inputs, case.grad_y])

    def compute_expected(self, target: str) -> list[list[Array]]:
        """True gradients from tf.GradientTape, computed in this trusted process."""
        tf = _tf()
        spec = self.spec(target)
        gradients = []
        for case in self.cases(target):
            variables = [tf.Variable(a) for a in case.inputs]
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(spec.forward_tf(*variables) * case.grad_y)
            gradients.append([g.numpy() for g in tape.gradient(loss, variables)])
        return gradients

    def expected(self, target: str) -> list[list[Array]]:
        """The true gradients: shipped ones when they match these inputs, else computed (cached)."""
        if target not in self._expected:
            shipped = references.load(target, self.inputs_digest(target))
            self._expected[target] = shipped if shipped is not None else self.compute_expected(target)
        return self._expected[target]

    def missing(self, located: Located) -> list[CheckResult]:
        hint = tr("define `class {name}` with forward and backward at the top level of a cell",
                  name=located.target.name)
        return all_failed(located.target.name, self.check_ids(located.target.name), located.missing_message, hint)

    def judge(self, located: Located, outcome: JobOutcome) -> list[CheckResult]:
        spec = self.spec(located.target.name)
        cases = self.cases(spec.target)
        roundtrips, perturbed = outcome.calls[:len(cases)], outcome.calls[len(cases):]
        verdicts: dict[str, list[tuple[str | None, str | None, dict[str, float]]]] = {
            name: [] for name in spec.points}
        for case, expected, roundtrip, forward_many in zip(cases, self.expected(spec.target), roundtrips, perturbed):
            for name, verdict in self._judge_case(spec, case, expected, roundtrip, forward_many).items():
                verdicts[name].append(verdict)
        labels = [case.label for case in cases]
        return [self._summarise(spec, name, verdicts[name], labels) for name in spec.points]

    def _judge_case(self, spec: LayerSpec, case: LayerCase, expected: list[Array],
                    roundtrip: CallOutcome, forward_many: CallOutcome) -> dict[str, tuple[str | None, str | None, dict[str, float]]]:
        """Per check name: (failure message or None, hint, relative errors)."""
        data = roundtrip.data or {}
        failure = roundtrip.failure or data.get("error")
        hint = self._error_hint(spec, failure) if failure else None
        on = tr("on {case}: ", case=case.label)
        verdicts = {}
        if "forward" in data:
            problem = mismatch(spec.forward_np(*case.inputs), data["forward"], Tolerance.for_dtype(np.float64))
            verdicts["forward"] = (on + tr("forward {problem}", problem=problem) if problem else None, None, {})
        else:
            verdicts["forward"] = (on + str(failure), hint, {})
        if "backward" not in data:
            for name in ("contract", "backward_fd", "backward_tf"):
                verdicts[name] = (on + str(failure), hint, {})
            return verdicts
        values = data["backward"]
        contract_problem, contract_hint = self._contract(spec, case, values, data.get("backward_type", ""))
        verdicts["contract"] = (on + contract_problem if contract_problem else None, contract_hint, {})
        if contract_problem:
            for name in ("backward_fd", "backward_tf"):
                verdicts[name] = (on + tr("cannot compare gradients: {problem}", problem=contract_problem),
                                  contract_hint, {})
            return verdicts
        verdicts["backward_tf"] = self._compare(spec, case, values, expected, on, "tf.GradientTape")
        numeric = self._finite_differences(case, forward_many)
        if isinstance(numeric, str):
            verdicts["backward_fd"] = (on + numeric, None, {})
        else:
            sampled = [v.reshape(-1)[e] for v, e in zip(values, case.elements)]
            verdicts["backward_fd"] = self._compare(spec, case, sampled, numeric, on, _("central differences of your "
                                                                                        "forward"),
                                                    full_values=values)
        return verdicts

    def _contract(self, spec: LayerSpec, case: LayerCase, values: list[Array], returned: str) -> tuple[str | None, str | None]:
        shapes = [v.shape for v in values]
        wanted = [a.shape for a in case.inputs]
        names = spec.gradient_names
        if len(names) == 1:
            if returned in ("tuple", "list"):
                return (tr("backward returned a {kind} of {count}; expected the array grad_x", kind=returned,
                           count=len(values)),
                        _("return grad_x itself"))
            if shapes[0] != wanted[0]:
                return tr("grad_x has shape {shape}, expected {wanted} (the shape of x)", shape=shapes[0],
                          wanted=wanted[0]), None
            return None, None
        if returned not in ("tuple", "list") or len(values) != len(names):
            return (tr("backward returned {kind} with {count} array(s); expected the tuple ({names})",
                       kind=returned or _("a value"), count=len(values), names=", ".join(names)),
                    tr("return {names}", names=", ".join(names)))
        if shapes == wanted[::-1] and wanted[0] != wanted[1]:
            return (tr("backward returned shapes {shapes}; expected {wanted}", shapes=shapes, wanted=wanted),
                    _("returns (grad_W, grad_x): the order is (grad_x, grad_W)"))
        for name, shape, want, tensor in zip(names, shapes, wanted, values):
            if shape != want:
                hint = None
                if shape == want[::-1]:
                    hint = tr("{name} has the shape of its input transposed: {formula}", name=name,
                              formula="grad_W = x.T @ grad_y" if name == "grad_W" else "grad_x = grad_y @ W.T")
                return tr("{name} has {described}, expected shape {wanted}", name=name, described=describe(tensor),
                          wanted=want), hint
        return None, None

    def _compare(self, spec: LayerSpec, case: LayerCase, values: list[Array], reference: list[Array], on: str,
                 against: str, full_values: list[Array] | None = None) -> tuple[str | None, str | None, dict[str, float]]:
        errors = {name: relative_error(np.asarray(v, np.float64), r)
                  for name, v, r in zip(spec.gradient_names, values, reference)}
        summary = _relative_errors(errors)
        if all(e <= self.pass_relative_error for e in errors.values()):
            return None, None, errors
        message = on + tr("backward differs from {against}: {summary}", against=against, summary=summary)
        return message, self._diagnose(spec, case, full_values or values, errors), errors

    def _diagnose(self, spec: LayerSpec, case: LayerCase, values: list[Array], errors: dict[str, float]) -> str | None:
        tolerance = Tolerance.for_dtype(np.float64)
        wrong = [i for i, e in enumerate(errors.values()) if e > self.pass_relative_error]
        for mistake in spec.mistakes:
            if mistake.index in wrong and matches(mistake.value(case.inputs, case.grad_y), values[mistake.index], tolerance):
                return _(mistake.hint)
        return None

    def _finite_differences(self, case: LayerCase, outcome: CallOutcome) -> list[Array] | str:
        """Central differences of L = sum(forward * grad_y), or why they could not be taken."""
        data = outcome.data or {}
        if outcome.failure or "error" in data:
            return tr("cannot take finite differences: {error}", error=outcome.failure or data["error"])
        outputs = data["outputs"]
        if outputs.shape[1:] != case.grad_y.shape:
            return tr("cannot take finite differences: forward returned shape {shape}, expected {wanted}",
                      shape=outputs.shape[1:], wanted=case.grad_y.shape)
        losses = (outputs * case.grad_y).reshape(len(outputs), -1).sum(axis=1)
        gradients, offset = [], 0
        for elements in case.elements:
            plus, minus = losses[offset:offset + 2 * len(elements):2], losses[offset + 1:offset + 2 * len(elements):2]
            gradients.append((plus - minus) / (2 * STEP))
            offset += 2 * len(elements)
        return gradients

    def _summarise(self, spec: LayerSpec, name: str, verdicts: list[tuple[str | None, str | None, dict[str, float]]],
                   labels: list[str]) -> CheckResult:
        check_id, points = f"{spec.target}.{name}", spec.points[name]
        table = [{"case": label, **{g: float(e) for g, e in errors.items()}}
                 for label, (_, _, errors) in zip(labels, verdicts) if errors]
        details = {"relative_errors": table, "pass_below": self.pass_relative_error} if table else None
        failures = [(message, hint) for message, hint, _ in verdicts if message]
        if failures:
            hint = next((h for _, h in failures if h), None)
            return CheckResult(check_id, spec.target, points, False, failures[0][0], hint, details)
        worst = {g: max(errors.get(g, 0.0) for _, _, errors in verdicts) for g in spec.gradient_names}
        shapes = len(verdicts)
        messages = {
            "forward": tr("forward equals the numpy reference on {count} input shapes", count=shapes),
            "contract": tr("backward returns {names} with the shapes of the inputs",
                           names=", ".join(spec.gradient_names)),
            "backward_fd": tr("backward matches central differences of your forward: {summary}",
                              summary=_relative_errors(worst)),
            "backward_tf": tr("backward matches tf.GradientTape: {summary}", summary=_relative_errors(worst)),
        }
        return CheckResult(check_id, spec.target, points, True, messages[name], details=details)

    def _error_hint(self, spec: LayerSpec, error: str) -> str | None:
        for pattern, hint in spec.error_hints + _COMMON_ERROR_HINTS:
            if re.search(pattern, error):
                return _(hint)
        return None


def _relative_errors(errors: dict[str, float]) -> str:
    """`grad_x rel err 3.2e-09 (exact), grad_W ...`, worded in the active language."""
    return listing([tr("{name} rel err {error:.1e} ({band})", name=name, error=e, band=band(e))
                    for name, e in errors.items()])


def _perturbations(case: LayerCase) -> list[list[Array]]:
    """Inputs with one element moved by +STEP then -STEP, for every checked element of every input."""
    perturbed = []
    for k, elements in enumerate(case.elements):
        for element in elements:
            for sign in (1.0, -1.0):
                inputs = [a.copy() for a in case.inputs]
                inputs[k].reshape(-1)[element] += sign * STEP
                perturbed.append(inputs)
    return perturbed
