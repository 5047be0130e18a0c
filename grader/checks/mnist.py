"""MNIST sanity checks: does the student's Part-2 numpy model and Part-3 TF model actually train?

Protocol (the grader's, seeded, offline): 2,000 training and 1,000 held-out images from the
shipped subset; a fresh `myModel()`; 30 full-batch SGD steps by the grader on the gradients the
model itself produces (numpy: its `*_grad` attributes; TF: tf.GradientTape over every
tf.Variable it holds). A run that does not learn (diverges, or is stuck near chance) is retried
with half the step, then with the next seed: sensitive but correct models learn in one of the
four fixed attempts, broken ones in none.
The student's own `train_one_step`/`test` run separately for 5 steps.
Thresholds come from `reference/calibrate_mnist.py` (see the README for the distributions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from grader.checks.family import Family
from grader.checks.model import CheckResult, all_failed
from grader.mnist import MnistSample, load_sample
from grader.sandbox.jobs import CallOutcome, Job, JobOutcome, Limits
from grader.targets import Located

STUDENT_STEPS = 5


@lru_cache(maxsize=1)
def calibration() -> dict:
    """What reference/calibrate_mnist.py measured: reference distribution, curve and threshold per target."""
    with resources.files("grader.data").joinpath("calibration.json").open("r", encoding="utf-8") as handle:
        return json.load(handle)


@dataclass(frozen=True)
class Protocol:
    """How the grader trains one kind of model; the calibration says what the reference reaches."""

    target: str
    kind: str  # "numpy" or "tf"
    steps: int
    lr: float
    lr_text: str
    points: dict[str, float]
    interface: str

    @property
    def threshold(self) -> float:
        return calibration()[self.target]["threshold"]

    @property
    def reference(self) -> dict:
        return calibration()[self.target]["reference"]


PROTOCOLS = {
    "mnist_numpy": Protocol(
        "mnist_numpy", "numpy", steps=30, lr=3e-4,
        lr_text="lr 3e-4 on the summed gradient: the notebook's 1e-5 scaled from 60,000 to 2,000 images",
        points={"output_contract": 1.0, "trains": 3.0, "train_one_step": 2.0},
        interface="Part 2 expects the given interface: myModel() with forward(x) storing h2_log, (N, 10) "
                  "log-probabilities, and backward(label) storing W1_grad and W2_grad"),
    "mnist_tf": Protocol(
        "mnist_tf", "tf", steps=30, lr=0.1, lr_text="SGD lr 0.1 on the mean loss",
        points={"logits": 2.0, "trains": 3.0, "train_one_step": 1.0},
        interface="Part 3 expects myModel() holding tf.Variables, with __call__(x) taking (N, 28, 28) float32 "
                  "images and returning (N, 10) unnormalised logits"),
}


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def cross_entropy(log_probs: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(log_probs[np.arange(len(labels)), labels]))


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(outputs, axis=1) == labels))


def _failure(call: CallOutcome) -> str | None:
    return call.failure or (call.data or {}).get("error")


class Training(Family):
    """The two MNIST targets: jobs that train the student's models, and their judgement."""

    mergeable = False  # each model trains in a child of its own (long jobs)

    targets = ("mnist_numpy", "mnist_tf")

    def __init__(self, limits: Limits = Limits(), mnist: Path | None = None, seed: int = 0,
                 thresholds: dict[str, float] | None = None) -> None:
        self.limits = replace(limits, call_timeout=max(limits.call_timeout, 30.0))
        self.mnist_path = mnist
        self.seed = seed
        self.thresholds = thresholds or {}  # per target, instead of the calibrated threshold
        self._sample: MnistSample | None = None

    def threshold(self, target: str) -> float:
        return self.thresholds.get(target, PROTOCOLS[target].threshold)

    @property
    def sample(self) -> MnistSample:
        if self._sample is None:
            self._sample = load_sample(self.mnist_path)
        return self._sample

    def check_ids(self, target: str) -> list[tuple[str, float]]:
        return [(f"{target}.{name}", points) for name, points in PROTOCOLS[target].points.items()]

    def settled(self, located: Located) -> list[CheckResult] | None:
        """Checks known without running anything: none for this family."""
        return None

    def job(self, located: Located) -> Job:
        protocol, data = PROTOCOLS[located.target.name], self.sample
        calls = [
            {"kind": f"{protocol.kind}_protocol", "x_train": data.x_train, "y_train": data.y_train,
             "x_test": data.x_test, "steps": protocol.steps,
             "attempts": [[self.seed, protocol.lr], [self.seed, protocol.lr / 2],
                          [self.seed + 1, protocol.lr], [self.seed + 1, protocol.lr / 2]]},
            {"kind": f"{protocol.kind}_student_step", "x_train": data.x_train, "y_train": data.y_train,
             "x_test": data.x_test, "y_test": data.y_test, "steps": STUDENT_STEPS, "seed": self.seed},
        ]
        file = located.file
        return Job(target="myModel", probe="training", plan=located.load_plan(), calls=calls,
                   where={c.label: c.where for c in file.cells}, limits=self.limits, seed=self.seed)

    def expected(self, target: str) -> None:
        """Load the MNIST sample; the reference itself is the calibrated accuracy of the protocol."""
        _ = self.sample

    def missing(self, located: Located) -> list[CheckResult]:
        target = located.target.name
        return all_failed(target, self.check_ids(target), located.missing_message, PROTOCOLS[target].interface)

    def judge(self, located: Located, outcome: JobOutcome) -> list[CheckResult]:
        target = located.target.name
        protocol = PROTOCOLS[target]
        if outcome.problem:
            return all_failed(target, self.check_ids(target), f"in {located.file.display}: {outcome.problem}",
                              protocol.interface)
        trained, student = outcome.calls
        first = self._numpy_contract(trained) if protocol.kind == "numpy" else self._tf_logits(trained)
        return [first, self._trains(target, trained), self._student_step(target, student)]

    def _result(self, target: str, name: str, passed: bool, message: str, hint: str | None = None,
                details: dict | None = None) -> CheckResult:
        return CheckResult(f"{target}.{name}", target, PROTOCOLS[target].points[name], passed, message, hint, details)

    def _numpy_contract(self, call: CallOutcome) -> CheckResult:
        target, protocol = "mnist_numpy", PROTOCOLS["mnist_numpy"]
        output = (call.data or {}).get("check_output")
        if output is None:
            return self._result(target, "output_contract", False, str(_failure(call)), protocol.interface)
        if output.ndim != 2 or output.shape[1] != 10:
            return self._result(target, "output_contract", False,
                                f"h2_log has shape {output.shape} after forward on {len(self.sample.x_test)} images; "
                                f"expected ({len(self.sample.x_test)}, 10)", protocol.interface)
        if not np.isfinite(output).all():
            return self._result(target, "output_contract", False, "h2_log holds NaN or inf for the untrained model")
        sums = np.exp(output).sum(axis=1)
        typical = float(np.median(sums))  # the median: the given Softmax's epsilon skews saturated rows
        if abs(typical - 1) > 1e-3:
            return self._result(target, "output_contract", False,
                                f"h2_log is not log-probabilities: rows of exp(h2_log) sum to {typical:.4g} (median), "
                                "expected 1", "the output layer must stay the given Softmax followed by Log")
        return self._result(target, "output_contract", True, "h2_log holds log-probabilities: rows of exp(h2_log) sum to 1")

    def _tf_logits(self, call: CallOutcome) -> CheckResult:
        target, protocol = "mnist_tf", PROTOCOLS["mnist_tf"]
        data = call.data or {}
        output = data.get("check_output")
        prefix = "`myModel` is not a TF model returning logits: "
        if output is None:
            return self._result(target, "logits", False, prefix + str(_failure(call)), protocol.interface)
        n = len(self.sample.x_test)
        problem, hint = None, None
        if output.shape != (n, 10):
            problem = f"model(x) returned shape {output.shape} for {n} images; expected ({n}, 10)"
        elif not np.isfinite(output).all():
            problem = "model(x) returned NaN or inf before any training"
        elif (output >= 0).all() and (output <= 1).all() and np.allclose(output.sum(axis=1), 1, atol=1e-3):
            problem, hint = "model(x) returns probabilities (rows sum to 1)", "return the logits, before any softmax"
        elif (output <= 0).all() and np.allclose(np.log(np.exp(output).sum(axis=1)), 0, atol=1e-3):
            problem, hint = "model(x) returns log-probabilities", "return the logits, before any (log-)softmax"
        elif (output >= 0).all() and np.mean(output == 0) > 0.05:
            problem, hint = (f"model(x) passes its output through a ReLU ({np.mean(output == 0):.0%} exact zeros, "
                             "no negative value)", "logits must be free to be negative: no ReLU on the last layer")
        elif "error" in data and "tf.Variable" in data["error"]:
            problem = data["error"]
        if problem:
            return self._result(target, "logits", False, prefix + problem, hint or protocol.interface)
        held = len(data.get("variables", []))
        return self._result(target, "logits", True,
                            f"model(x) returns ({n}, 10) unnormalised logits; {held} trainable tf.Variables found")

    def _trains(self, target: str, call: CallOutcome) -> CheckResult:
        protocol, sample = PROTOCOLS[target], self.sample
        data = call.data or {}
        reference = protocol.reference
        details = {"curve": data.get("curve", {"loss": [], "accuracy": []}), "threshold": self.threshold(target),
                   "reference": {"mean": reference["mean"], "std": reference["std"],
                                 "curve": {"loss": reference["curve_loss"], "accuracy": reference["curve_accuracy"]}}}
        setup = (f"{protocol.steps} full-batch steps on {len(sample.x_train)} images ({protocol.lr_text}), "
                 f"held-out {len(sample.x_test)}")
        failure = _failure(call)
        if failure or "held_out" not in data:
            return self._result(target, "trains", False, f"training under the grader's protocol failed: {failure}",
                                PROTOCOLS[target].interface, details)
        to_log_probs = (lambda o: o) if protocol.kind == "numpy" else log_softmax
        first = cross_entropy(to_log_probs(data["first_train"]), sample.y_train)
        last = cross_entropy(to_log_probs(data["last_train"]), sample.y_train)
        held_out = accuracy(data["held_out"], sample.y_test)
        details.update(held_out_accuracy=held_out, lr=data["lr"], seed=data["seed"],
                       trained=data.get("parameters") or data.get("variables", []))
        if (data["seed"], data["lr"]) != (self.seed, protocol.lr):
            setup += f"; the first run did not learn, so seed {data['seed']} with lr {data['lr']:.3g} was used"
        summary = (f"{setup}: loss {first:.3g} -> {last:.3g}, held-out accuracy {held_out:.3f} "
                   f"(reference {reference['mean']:.3f} ± {reference['std']:.3f}; pass >= {self.threshold(target)})")
        if not (np.isfinite(first) and np.isfinite(last)) or last < 0:
            return self._result(target, "trains", False, summary, "the loss became NaN, inf or negative", details)
        if abs(last - first) <= 1e-6 * abs(first):
            return self._result(target, "trains", False, summary,
                                "the loss does not move: with all-zero weights (or a dead network) no gradient "
                                "reaches the hidden layer; initialise the weights randomly", details)
        if last > first:
            where = "the signs in backward" if protocol.kind == "numpy" else "what model(x) computes"
            return self._result(target, "trains", False, summary,
                                f"the loss went up under gradient descent: check {where}", details)
        if held_out < self.threshold(target):
            return self._result(target, "trains", False, summary,
                                "the model barely learns: check the initialisation (all zeros cannot learn) and the gradients",
                                details)
        return self._result(target, "trains", True, summary, details=details)

    def _student_step(self, target: str, call: CallOutcome) -> CheckResult:
        data = call.data or {}
        steps = data.get("steps", [])
        details = {"curve": {"loss": [s[0] for s in steps], "accuracy": [s[1] for s in steps]}}
        failure = _failure(call)
        if failure:
            return self._result(target, "train_one_step", False, f"your own training code failed: {failure}",
                                PROTOCOLS[target].interface, details)
        losses = [s[0] for s in steps]
        test_loss, test_accuracy = data["test"]
        summary = (f"your train_one_step ran {len(steps)} steps: loss {losses[0]:.4g} -> {losses[-1]:.4g}; "
                   f"test() returned loss {test_loss:.4g}, accuracy {test_accuracy:.3f}")
        if not all(np.isfinite(v) and v >= 0 for v in losses + [test_loss]) or not 0 <= test_accuracy <= 1:
            return self._result(target, "train_one_step", False, summary,
                                "losses must be finite and non-negative, accuracy within [0, 1]", details)
        if losses[-1] >= losses[0]:
            return self._result(target, "train_one_step", False, summary,
                                "the loss goes up: the update must subtract the gradient (W -= lr * grad, "
                                "v.assign_sub(lr * g)), not add it", details)
        return self._result(target, "train_one_step", True, summary, details=details)
