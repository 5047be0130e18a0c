"""Part 1: softmax, sigmoid, softmax_ce and sigmoid_ce judged against TensorFlow's built-ins.

Inputs are made here (seeded per check), sent to the child as plain arrays, and the student's
outputs are compared with TF references computed in this trusted process. A failing output is
compared with the outputs of known mistakes to produce a hint.

Points follow what the homework itself passes: `matches_tf` and the shape checks use the
notebook's own input kinds (numpy float64 and float32 arrays, and for the losses the float64
tensor `tf.nn.softmax(logits)` / `tf.nn.sigmoid(logits)` the notebook hands in); tf.Tensor inputs
the notebook never passes are tried by `input_kinds`, worth one point.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from grader.checks.compare import Tolerance, matches, mismatch
from grader.checks.forbidden import find_violations
from grader.checks.family import Family
from grader.checks.model import CheckResult, all_failed
from grader.i18n import N_, _, tr
from grader import references
from grader.sandbox.jobs import CallOutcome, Job, JobOutcome, Limits
from grader.targets import Located

Array = np.ndarray


@dataclass
class Case:
    """One positional call of the student's function, and the float64 inputs of its reference."""

    args: tuple[Array, ...]
    kinds: tuple[str, ...]  # "ndarray" or "tensor", per argument
    reference_args: tuple[Array, ...]

    @property
    def label(self) -> str:
        """`10x5 float32 tensor`, worded in the active language."""
        kinds = list(dict.fromkeys(self.kinds))
        kind_text = tr("{first} and {second}", first=kinds[0], second=kinds[1]) if len(kinds) > 1 else kinds[0]
        return f"{_shape_text(self.args[0].shape)} {self.args[0].dtype.name} {kind_text}"


@dataclass
class Check:
    id: str
    points: float
    passed_message: str
    cases: list[Case]
    fallback_hint: str | None = None  # when no failure of this check has a hint of its own


@dataclass
class Mistake:
    """A known wrong implementation: if the student's output equals `output(*args)`, say `hint`."""

    hint: str
    output: Callable[..., Array]
    min_ndim: int = 0  # only meaningful when the first argument has at least this many axes


@dataclass
class FunctionSpec:
    target: str
    reference: Callable[..., object]  # TensorFlow built-in, float64
    scalar: bool  # the output is a batch-mean loss
    checks: list[Check]
    mistakes: list[Mistake]
    error_hints: list[tuple[str, str]] = field(default_factory=list)  # (regex on the error, hint)
    nonfinite_hint: str | None = None

    @property
    def loose(self) -> bool:
        return self.scalar  # losses allow log(x + eps)


NO_BUILTIN_POINTS = 2.0
INPUT_KINDS_POINTS = 1.0
_GENERIC_ERROR_HINTS = [
    (r"Tensor conversion requested dtype|Expected tensor .* with dtype .* but got dtype",
     N_("a float64 tf.Tensor cannot be converted to float32 by tf.convert_to_tensor(x, dtype=tf.float32) (or "
        "tf.constant): use tf.cast(x, tf.float32), or keep x's own dtype")),
    (r"EagerTensor.*has no attribute|has no attribute 'numpy'",
     N_("x may be a tf.Tensor or an ndarray: use functions (tf.reduce_max, np.max) rather than "
        "methods of one type")),
    (r"expected to be a (float|double) tensor|cannot compute \w+ as input",
     N_("mixes float32 and float64: keep the input's dtype (tf.cast, or constants built with dtype=x.dtype)")),
    (r"Incompatible shapes|could not be broadcast",
     N_("shapes do not broadcast: keep the reduced axis (keepdims=True) when dividing by a sum or "
        "subtracting a max")),
]


def _rng(check_id: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(check_id.encode()))


def _np_softmax(x: Array, axis: int = -1) -> Array:
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def _np_sigmoid(x: Array) -> Array:
    return 0.5 * (1 + np.tanh(0.5 * x))


def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return tr("length-{length}", length=shape[0])
    return "x".join(map(str, shape)) if shape else "0-d"


def _case(args: tuple[Array, ...], kinds: tuple[str, ...], dtype: type, reference_args: tuple[Array, ...]) -> Case:
    return Case(tuple(np.asarray(a, dtype=dtype) for a in args), kinds, reference_args)


def _homework_kinds(args: tuple[Array, ...], reference_args: tuple[Array, ...], notebook: tuple[str, ...]) -> list[Case]:
    """The notebook's input as the homework passes it: its own call (float64), then float64 and float32 ndarrays."""
    n = len(args)
    ndarrays = ("ndarray",) * n
    cases = [] if notebook == ndarrays else [_case(args, notebook, np.float64, reference_args)]
    return cases + [_case(args, ndarrays, np.float64, reference_args), _case(args, ndarrays, np.float32, reference_args)]


def _tensor_kinds(args: tuple[Array, ...], reference_args: tuple[Array, ...]) -> list[Case]:
    """The notebook's input as tf.Tensors of both float dtypes, which the homework never passes."""
    n = len(args)
    return [_case(args, ("tensor",) * n, np.float64, reference_args),
            _case(args, ("tensor",) * n, np.float32, reference_args)]


def _input_kinds_check(target: str, args: tuple[Array, ...], reference_args: tuple[Array, ...]) -> Check:
    """`target.input_kinds`: the notebook's input as tensors, one point (see the module's docstring)."""
    return Check(f"{target}.input_kinds", INPUT_KINDS_POINTS,
                 N_("also correct on float64 and float32 tf.Tensor inputs, which the homework itself never passes"),
                 _tensor_kinds(args, reference_args),
                 fallback_hint=N_("the homework passes numpy arrays, but x may also be a tf.Tensor of either float "
                                  "dtype: use TF functions, which accept both, and keep x's dtype (tf.cast, not "
                                  "tf.convert_to_tensor(x, dtype=...))"))


def _one_hot(rng: np.random.Generator, rows: int, classes: int) -> Array:
    label = np.zeros((rows, classes))
    label[np.arange(rows), rng.integers(0, classes, rows)] = 1.0
    return label


def _softmax_ce_args(rng: np.random.Generator, rows: int, classes: int) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    logits = rng.normal(size=(rows, classes))
    label = _one_hot(rng, rows, classes)
    return (_np_softmax(logits), label), (logits, label)


def _sigmoid_ce_args(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    logits = rng.normal(size=shape)
    label = rng.integers(0, 2, shape).astype(np.float64)
    return (_np_sigmoid(logits), label), (logits, label)


def _large(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    x = rng.uniform(-1000, 1000, size=shape)
    x.flat[0], x.flat[1] = 1000.0, -1000.0
    return x


def _tf():
    """TensorFlow, imported only when a reference is not shipped (grader/references.py)."""
    import tensorflow as tf

    return tf


def _softmax_spec() -> FunctionSpec:
    rng = _rng("softmax.matches_tf")
    x = rng.normal(size=(10, 5))
    reference = _homework_kinds((x,), (x,), ("ndarray",))
    kinds = _input_kinds_check("softmax", (x,), (x,))
    rng = _rng("softmax.last_axis")
    shapes = [((7,), np.float64, "ndarray"), ((1, 5), np.float64, "ndarray"), ((2, 3, 4), np.float64, "ndarray"),
              ((3, 2, 6), np.float32, "ndarray"), ((2, 2, 3, 5), np.float64, "ndarray")]
    general = []
    for shape, dtype, kind in shapes:
        values = rng.normal(size=shape)
        general.append(_case((values,), (kind,), dtype, (values,)))
    rng = _rng("softmax.large_logits")
    large = [_case((v,), ("ndarray",), dtype, (v,)) for v, dtype in ((_large(rng, (10, 5)), np.float64),
                                                                   (_large(rng, (10, 5)), np.float32))]
    return FunctionSpec(
        target="softmax",
        reference=lambda x: _tf().nn.softmax(x, axis=-1),
        scalar=False,
        checks=[
            Check("softmax.matches_tf", 3, N_("matches tf.nn.softmax(x, axis=-1) on the notebook's 10x5 input, as "
                                              "numpy float64 and float32 arrays"), reference),
            Check("softmax.last_axis", 3, N_("normalises over the last axis of 1-D, one-row, 3-D and 4-D inputs"), general),
            Check("softmax.large_logits", 1, N_("stays finite and correct for logits of magnitude 1000"), large),
            kinds,
        ],
        mistakes=[
            Mistake(N_("subtracts a max taken over axis 1 instead of the last axis: on 3-D input that shift "
                       "varies along the last axis and changes the result; use axis=-1 (keepdims=True) for the "
                       "max too"),
                    lambda x: np.exp(x - x.max(axis=1, keepdims=True)) / np.exp(x - x.max(axis=1, keepdims=True)).sum(-1, keepdims=True),
                    min_ndim=3),
            Mistake(N_("reduces over axis 1 instead of the last axis: use axis=-1"), lambda x: _np_softmax(x, axis=1),
                    min_ndim=3),
            Mistake(N_("normalises over axis 0 (across the batch) instead of the last axis: use axis=-1"),
                    lambda x: _np_softmax(x, axis=0), min_ndim=2),
            Mistake(N_("normalises over all elements at once; normalise over the last axis only (axis=-1, "
                       "keepdims=True)"),
                    lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum()),
            Mistake(N_("returns exp(x) without dividing by its sum over the last axis"), lambda x: np.exp(x)),
        ],
        error_hints=[(r"axis|dimension|out of (bounds|range)",
                      N_("fails on input whose rank differs from 2: reduce over axis=-1 (the last axis), not a fixed "
                         "axis 1"))],
        nonfinite_hint=N_("exp overflows for large logits: subtract the max over the last axis (keepdims=True) before "
                          "exp"),
    )


def _sigmoid_spec() -> FunctionSpec:
    rng = _rng("sigmoid.matches_tf")
    x = rng.normal(size=(10, 5))
    reference = _homework_kinds((x,), (x,), ("ndarray",))
    kinds = _input_kinds_check("sigmoid", (x,), (x,))
    rng = _rng("sigmoid.any_shape")
    shapes = [((7,), np.float64, "ndarray"), ((2, 3, 4), np.float64, "ndarray"), ((1, 1), np.float64, "ndarray"),
              ((), np.float64, "ndarray"), ((4, 3, 2), np.float32, "ndarray")]
    general = []
    for shape, dtype, kind in shapes:
        values = np.asarray(rng.normal(size=shape))
        general.append(_case((values,), (kind,), dtype, (values,)))
    rng = _rng("sigmoid.large_logits")
    large = [_case((v,), ("ndarray",), dtype, (v,)) for v, dtype in ((_large(rng, (10, 5)), np.float64),
                                                                   (_large(rng, (10, 5)), np.float32))]
    return FunctionSpec(
        target="sigmoid",
        reference=lambda x: _tf().nn.sigmoid(x),
        scalar=False,
        checks=[
            Check("sigmoid.matches_tf", 4, N_("matches tf.nn.sigmoid on the notebook's 10x5 input, as numpy float64 "
                                              "and float32 arrays"), reference),
            Check("sigmoid.any_shape", 2, N_("works element-wise on 0-d, 1-D, 2-D and 3-D inputs"), general),
            Check("sigmoid.large_logits", 1, N_("stays finite and correct for inputs of magnitude 1000"), large),
            kinds,
        ],
        mistakes=[
            Mistake(N_("sign error in the exponent: sigmoid(x) = 1 / (1 + exp(-x))"), lambda x: _np_sigmoid(-x)),
            Mistake(N_("computes tanh(x), not the logistic sigmoid 1 / (1 + exp(-x))"), np.tanh),
            Mistake(N_("returns exp(-x) / (1 + exp(-x)), which is sigmoid(-x): sigmoid(x) = 1 / (1 + exp(-x))"),
                    lambda x: 1 - _np_sigmoid(x)),
        ],
        nonfinite_hint=N_("exp overflows for large |x| (exp(x) / (1 + exp(x)) gives inf/inf): use 1 / (1 + exp(-x))"),
    )


def _softmax_ce_spec() -> FunctionSpec:
    args, reference_args = _softmax_ce_args(_rng("softmax_ce.matches_tf"), 10, 5)
    reference = _homework_kinds(args, reference_args, ("tensor", "ndarray"))
    kinds = _input_kinds_check("softmax_ce", args, reference_args)
    rng = _rng("softmax_ce.other_shapes")
    general = []
    for rows, classes, dtype, kind in ((1, 5, np.float64, "ndarray"), (7, 3, np.float64, "ndarray"),
                                       (4, 12, np.float64, "ndarray"), (25, 10, np.float64, "ndarray"),
                                       (6, 10, np.float32, "ndarray")):
        case_args, case_reference = _softmax_ce_args(rng, rows, classes)
        general.append(_case(case_args, (kind, kind), dtype, case_reference))

    def rows(p: Array, label: Array) -> Array:
        return -(label * np.log(p)).sum(-1)

    return FunctionSpec(
        target="softmax_ce",
        reference=lambda logits, label: _tf().reduce_mean(_tf().nn.softmax_cross_entropy_with_logits(labels=label, logits=logits)),
        scalar=True,
        checks=[
            Check("softmax_ce.matches_tf", 4, N_("matches mean(tf.nn.softmax_cross_entropy_with_logits) on the "
                                                 "notebook's 10x5 input, as the notebook passes it (x a float64 "
                                                 "tensor) and as numpy float64 and float32 arrays"), reference),
            Check("softmax_ce.other_shapes", 3, N_("correct for 1 to 25 rows and 3 to 12 classes"), general),
            kinds,
        ],
        mistakes=[
            Mistake(N_("x already holds probabilities (the notebook passes tf.nn.softmax(logits)): softmax is "
                       "applied twice"),
                    lambda p, label: rows(_np_softmax(p), label).mean()),
            Mistake(N_("returns one loss per row: the loss is their mean over the batch"), rows),
            Mistake(N_("sums the row losses over the batch: take the mean over rows"),
                    lambda p, label: rows(p, label).sum()),
            Mistake(N_("averages over the classes too: sum over the last axis, then average over rows"),
                    lambda p, label: -(label * np.log(p)).mean()),
            Mistake(N_("sign error: the cross-entropy is -sum(label * log(x)), a positive number"),
                    lambda p, label: -rows(p, label).mean()),
            Mistake(N_("uses log10: the cross-entropy uses the natural log"),
                    lambda p, label: rows(p, label).mean() / np.log(10)),
            Mistake(N_("uses log2: the cross-entropy uses the natural log"),
                    lambda p, label: rows(p, label).mean() / np.log(2)),
        ],
        nonfinite_hint=N_("got inf/NaN: take the log of x (the probabilities, first argument), not of the one-hot "
                          "label"),
    )


def _sigmoid_ce_spec() -> FunctionSpec:
    args, reference_args = _sigmoid_ce_args(_rng("sigmoid_ce.matches_tf"), (10,))
    reference = _homework_kinds(args, reference_args, ("tensor", "ndarray"))
    kinds = _input_kinds_check("sigmoid_ce", args, reference_args)
    rng = _rng("sigmoid_ce.other_shapes")
    general = []
    for shape, dtype, kind in (((1,), np.float64, "ndarray"), ((25,), np.float64, "ndarray"),
                               ((7,), np.float64, "ndarray"), ((13,), np.float32, "ndarray"),
                               ((4, 6), np.float64, "ndarray"), ((2, 3, 4), np.float32, "ndarray")):
        case_args, case_reference = _sigmoid_ce_args(rng, shape)
        general.append(_case(case_args, (kind, kind), dtype, case_reference))

    def elements(p: Array, label: Array) -> Array:
        return -(label * np.log(p) + (1 - label) * np.log(1 - p))

    return FunctionSpec(
        target="sigmoid_ce",
        reference=lambda logits, label: _tf().reduce_mean(_tf().nn.sigmoid_cross_entropy_with_logits(labels=label, logits=logits)),
        scalar=True,
        checks=[
            Check("sigmoid_ce.matches_tf", 4, N_("matches mean(tf.nn.sigmoid_cross_entropy_with_logits) on the "
                                                 "notebook's length-10 input, as the notebook passes it (x a float64 "
                                                 "tensor) and as numpy float64 and float32 arrays"), reference),
            Check("sigmoid_ce.other_shapes", 3, N_("correct for lengths 1, 7, 13 and 25 and for 4x6 and 2x3x4 "
                                                   "batches (the mean over every element)"), general),
            kinds,
        ],
        mistakes=[
            Mistake(N_("x already holds probabilities (the notebook passes tf.nn.sigmoid(logits)): sigmoid is "
                       "applied again"),
                    lambda p, label: elements(_np_sigmoid(p), label).mean()),
            Mistake(N_("missing the (1 - label) * log(1 - x) term"), lambda p, label: -(label * np.log(p)).mean()),
            Mistake(N_("missing the label * log(x) term"), lambda p, label: -((1 - label) * np.log(1 - p)).mean()),
            Mistake(N_("returns one loss per element: the loss is their mean"), elements),
            Mistake(N_("divides the summed loss by len(x), the number of rows: on a 2-D or 3-D batch the loss is the "
                       "mean over every element (tf.reduce_mean, or divide by tf.size(x))"),
                    lambda p, label: elements(p, label).sum() / len(p), min_ndim=2),
            Mistake(N_("averages over the last axis only, one loss per row: the loss is the mean over every element"),
                    lambda p, label: elements(p, label).mean(axis=-1), min_ndim=2),
            Mistake(N_("sums the losses: take their mean"), lambda p, label: elements(p, label).sum()),
            Mistake(N_("sign error: the loss is -(label * log(x) + (1 - label) * log(1 - x)), a positive number"),
                    lambda p, label: -elements(p, label).mean()),
        ],
        nonfinite_hint=N_("got inf/NaN: take log(x) and log(1 - x) of the probabilities (first argument), not of the "
                          "label"),
    )


class Part1(Family):
    """The four Part-1 functions: jobs to probe them and the judgement of what came back."""

    mergeable = True  # its functions of one file are probed by one child

    targets = ("softmax", "sigmoid", "softmax_ce", "sigmoid_ce")

    def __init__(self, limits: Limits = Limits()) -> None:
        self.limits = limits
        self._specs: dict[str, FunctionSpec] = {}
        self._expected: dict[str, list[list[Array]]] = {}

    def spec(self, target: str) -> FunctionSpec:
        if target not in self._specs:
            builder = {"softmax": _softmax_spec, "sigmoid": _sigmoid_spec,
                       "softmax_ce": _softmax_ce_spec, "sigmoid_ce": _sigmoid_ce_spec}[target]
            self._specs[target] = builder()
        return self._specs[target]

    def check_ids(self, target: str) -> list[tuple[str, float]]:
        spec = self.spec(target)
        return [(c.id, c.points) for c in spec.checks] + [(f"{target}.no_builtin", NO_BUILTIN_POINTS)]

    def settled(self, located: Located) -> list[CheckResult] | None:
        """Checks known without running anything: none for this family."""
        return None

    def job(self, located: Located) -> Job:
        spec = self.spec(located.target.name)
        calls = [{"args": [{"value": a, "as": k} for a, k in zip(case.args, case.kinds)]}
                 for check in spec.checks for case in check.cases]
        file = located.file
        return Job(target=spec.target, probe="call", plan=located.load_plan(), calls=calls,
                   where={c.label: c.where for c in file.cells},
                   exempt=[t for t in self.targets if t != spec.target], limits=self.limits)

    def inputs_digest(self, target: str) -> str:
        """A digest of every input the references of `target` are computed on."""
        spec = self.spec(target)
        return references.digest(a for check in spec.checks for case in check.cases for a in case.reference_args)

    def compute_expected(self, target: str) -> list[list[Array]]:
        """TF references for every case, computed here in the trusted process."""
        spec = self.spec(target)
        return [[np.asarray(spec.reference(*case.reference_args), dtype=np.float64) for case in check.cases]
                for check in spec.checks]

    def expected(self, target: str) -> list[list[Array]]:
        """The references of every case: shipped ones when they match these inputs, else computed (cached)."""
        if target not in self._expected:
            shipped = references.load(target, self.inputs_digest(target))
            self._expected[target] = shipped if shipped is not None else self.compute_expected(target)
        return self._expected[target]

    def missing(self, located: Located) -> list[CheckResult]:
        hint = tr("define `{name}` with `def` at the top level of a cell (not inside an if, loop or class)",
                  name=located.target.name)
        return all_failed(located.target.name, self.check_ids(located.target.name), located.missing_message, hint)

    def judge(self, located: Located, outcome: JobOutcome) -> list[CheckResult]:
        spec = self.spec(located.target.name)
        calls = iter(outcome.calls)
        results, any_correct, hits = [], False, []
        for check, expected in zip(spec.checks, self.expected(spec.target)):
            failures = []
            for case, want in zip(check.cases, expected):
                call = next(calls)
                hits += [h for h in (call.data or {}).get("forbidden", []) if h not in hits]
                failure = self._judge_case(spec, case, want, call)
                if failure is None:
                    any_correct = True
                else:
                    failures.append(failure)
            results.append(self._summarise(spec, check, failures))
        results.append(self._no_builtin(located, hits, any_correct))
        return results

    def _summarise(self, spec: FunctionSpec, check: Check, failures: list[tuple[str, str | None, bool]]) -> CheckResult:
        if not failures:
            return CheckResult(check.id, spec.target, check.points, True, _(check.passed_message))
        message = failures[0][0]
        if len(failures) > 1:
            message += tr(" ({failed} of {total} inputs failed)", failed=len(failures), total=len(check.cases))
        hint = next((h for _message, h, diagnosed in failures if diagnosed), None) \
            or next((h for _message, h, _diagnosed in failures if h), None) \
            or (_(check.fallback_hint) if check.fallback_hint else None)
        return CheckResult(check.id, spec.target, check.points, False, message, hint)

    def _judge_case(self, spec: FunctionSpec, case: Case, expected: Array, call: CallOutcome) -> tuple[str, str | None, bool] | None:
        """None when the case passes, else (message, hint, whether the hint names a recognised mistake)."""
        if call.failure:
            return tr("on {label} input: {failure}", label=case.label, failure=call.failure), None, False
        data = call.data or {}
        if "error" in data:
            message = tr("on {label} input: {error}", label=case.label, error=data["error"])
            return message, self._error_hint(spec, data["error"]), False
        got = data["output"]
        tolerance = Tolerance.for_dtype(case.args[0].dtype, loose=spec.loose)
        problem = mismatch(expected, got, tolerance, scalar=spec.scalar)
        if problem is None:
            return None
        hint = self._diagnose(spec, case, got, tolerance)
        return tr("on {label} input: {problem}", label=case.label, problem=problem), hint, hint is not None

    def _error_hint(self, spec: FunctionSpec, error: str) -> str | None:
        for pattern, hint in _GENERIC_ERROR_HINTS + spec.error_hints:
            if re.search(pattern, error):
                return _(hint)
        return None

    def _diagnose(self, spec: FunctionSpec, case: Case, got: Array, tolerance: Tolerance) -> str | None:
        if not np.isfinite(got.astype(np.complex128)).all():
            return _(spec.nonfinite_hint) if spec.nonfinite_hint else None
        args = tuple(a.astype(np.float64) for a in case.args)
        with np.errstate(all="ignore"):
            for mistake in spec.mistakes:
                if args[0].ndim < mistake.min_ndim:
                    continue
                candidate = np.asarray(mistake.output(*args), dtype=np.float64)
                if matches(candidate, got, tolerance, scalar=spec.scalar and candidate.size == 1):
                    return _(mistake.hint)
        return None

    def _no_builtin(self, located: Located, hits: list[str], any_correct: bool) -> CheckResult:
        target = located.target.name
        check_id = f"{target}.no_builtin"
        violations = find_violations(located.file, located.definition, exempt=set(self.targets) - {target})
        advice = _("write it with tf.exp, tf.math.log, tf.reduce_sum / tf.reduce_max (or numpy)")
        if violations:
            shown = "; ".join(v.describe() for v in violations[:3])
            own_lines = sorted({v.lineno for v in violations if v.via is None})
            return CheckResult(check_id, target, NO_BUILTIN_POINTS, False, tr("`{target}` {shown}", target=target,
                                                                              shown=shown), advice,
                               {"lines": own_lines} if own_lines else None)
        if hits:
            return CheckResult(check_id, target, NO_BUILTIN_POINTS, False,
                               tr("`{target}` reached {names} while running (through a name the source does not spell "
                                  "out, e.g. getattr)", target=target, names=", ".join(_(hit) for hit in hits)), advice)
        if not any_correct:
            return CheckResult(check_id, target, NO_BUILTIN_POINTS, False,
                               tr("not awarded: no call of `{target}` returned a correct result", target=target))
        return CheckResult(check_id, target, NO_BUILTIN_POINTS, True,
                           _("uses no TF/Keras softmax, sigmoid or cross-entropy built-in (source and run time "
                             "checked)"))
