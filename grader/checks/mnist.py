"""MNIST sanity checks: does the student's Part-2 numpy model and Part-3 TF model actually train?

Protocol (the homework's own, seeded, offline): 2,000 training and 1,000 held-out images from
the shipped subset; a fresh `myModel()`; full-batch steps by the grader on the gradients the
model itself produces, with the notebook's update rule and loss:
- numpy: 30 steps of plain SGD on the summed gradient of its `*_grad` attributes, the notebook's
  rate 1e-5 scaled from 60,000 to 2,000 images; a run that does not learn is retried with half
  the step, then with the next seed;
- TF: 100 steps of `optimizers.Adam()` at its default rate (the optimizer the notebook builds and
  passes to `train_one_step`) on the notebook's `compute_loss`, the mean sparse softmax
  cross-entropy, over every tf.Variable the model holds (tf.GradientTape); Adam's steps do not
  depend on the scale of the gradients, so weights drawn large (std 1, a first loss in the
  hundreds) train as they do under the notebook's optimizer; a run that does not learn is
  retried with the next seed.
Sensitive but correct models learn in one of the fixed attempts, broken ones in none.
A run stops at the first checkpoint (every STOP_EVERY steps) where every condition of `trains` holds with
margins (`Training._stop`, sent in the job plan); the verdict is still judged here on the outputs returned.
The student's own `train_one_step`/`test` run separately, the way the student's own training
loop calls them (grader/checks/loop.py).
Thresholds come from `reference/calibrate_mnist.py` (see the README for the distributions).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from grader.checks.family import Family
from grader.checks.loop import StudentLoop, student_loop
from grader.checks.model import CheckResult, all_failed
from grader.i18n import N_, _, tr
from grader.mnist import MnistSample, accuracy, cross_entropy, load_sample, log_softmax, returns_probabilities
from grader.sandbox.jobs import CallOutcome, Job, JobOutcome, Limits
from grader.targets import Located

STUDENT_STEPS = 5
# Training stops at the first of these checkpoints where every pass condition of `trains` already
# holds with a margin (held-out accuracy this far above the threshold, the loss this fraction below
# its first value): the verdict is settled, the remaining steps would only cost time.
STOP_EVERY = 10
STOP_ACCURACY_MARGIN = 0.1
STOP_LOSS_DROP = 0.05


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
    halve_on_retry: bool  # a run that does not learn is retried with half the rate before the next seed

    def attempts(self, seed: int) -> list[list]:
        """The fixed (seed, rate) attempts, in order."""
        rates = [self.lr, self.lr / 2] if self.halve_on_retry else [self.lr]
        return [[s, rate] for s in (seed, seed + 1) for rate in rates]

    @property
    def threshold(self) -> float:
        return calibration()[self.target]["threshold"]

    @property
    def reference(self) -> dict:
        return calibration()[self.target]["reference"]


PROTOCOLS = {
    "mnist_numpy": Protocol(
        "mnist_numpy", "numpy", steps=30, lr=3e-4,
        lr_text=N_("lr 3e-4 on the summed gradient: the notebook's 1e-5 scaled from 60,000 to 2,000 images"),
        points={"output_contract": 1.0, "trains": 3.0, "train_one_step": 2.0},
        interface=N_("Part 2 expects the given interface: myModel() with forward(x) storing h2_log, (N, 10) "
                     "log-probabilities, and backward(label) storing W1_grad and W2_grad"),
        halve_on_retry=True),
    "mnist_tf": Protocol(
        "mnist_tf", "tf", steps=100, lr=1e-3,
        lr_text=N_("the notebook's optimizers.Adam() at its default rate 1e-3, on its mean softmax cross-entropy"),
        points={"logits": 2.0, "trains": 3.0, "train_one_step": 1.0},
        interface=N_("Part 3 expects myModel() holding tf.Variables, with __call__(x) taking (N, 28, 28) "
                     "float32 images and returning (N, 10) unnormalised logits"),
        halve_on_retry=False),
}


def _failure(call: CallOutcome) -> str | None:
    return call.failure or (call.data or {}).get("error")


class Training(Family):
    """The two MNIST targets: jobs that train the student's models, and their judgement."""

    mergeable = False  # each model trains in a child of its own (long jobs)

    targets = ("mnist_numpy", "mnist_tf")

    def __init__(self, limits: Limits = Limits(), mnist: Path | None = None, seed: int = 0,
                 thresholds: dict[str, float] | None = None, stop_early: bool = True) -> None:
        self.limits = replace(limits, call_timeout=max(limits.call_timeout, 30.0))
        self.mnist_path = mnist
        self.seed = seed
        self.thresholds = thresholds or {}  # per target, instead of the calibrated threshold
        self.stop_early = stop_early  # False: always every step (the calibration measures the whole run)
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
             "attempts": protocol.attempts(self.seed), "stop": self._stop(located.target.name)},
            {"kind": f"{protocol.kind}_student_step", "x_train": data.x_train, "y_train": data.y_train,
             "x_test": data.x_test, "y_test": data.y_test, "steps": STUDENT_STEPS, "seed": self.seed,
             "loop": asdict(student_loop(located.file, protocol.kind))},
        ]
        file = located.file
        return Job(target="myModel", probe="training", plan=located.load_plan(), calls=calls,
                   where={c.label: c.where for c in file.cells}, limits=self.limits, seed=self.seed)

    def _stop(self, target: str) -> dict | None:
        """When the child may stop training (plain data for the job plan); the parent still judges the outputs."""
        if not self.stop_early:
            return None
        return {"every": STOP_EVERY, "accuracy": self.threshold(target) + STOP_ACCURACY_MARGIN,
                "loss_drop": STOP_LOSS_DROP, "logits": PROTOCOLS[target].kind == "tf", "y_test": self.sample.y_test}

    def expected(self, target: str) -> None:
        """Load the MNIST sample; the reference itself is the calibrated accuracy of the protocol."""
        _ = self.sample

    def missing(self, located: Located) -> list[CheckResult]:
        target = located.target.name
        return all_failed(target, self.check_ids(target), located.missing_message, _(PROTOCOLS[target].interface))

    def judge(self, located: Located, outcome: JobOutcome) -> list[CheckResult]:
        target = located.target.name
        protocol = PROTOCOLS[target]
        if outcome.problem:
            return all_failed(target, self.check_ids(target), tr("in {display}: {problem}",
                                                                 display=located.file.display, problem=outcome.problem),
                              _(protocol.interface))
        trained, student = outcome.calls
        first = self._numpy_contract(trained) if protocol.kind == "numpy" else self._tf_logits(trained)
        loop = student_loop(located.file, protocol.kind)
        return [first, self._trains(target, trained), self._student_step(target, student, loop)]

    def _result(self, target: str, name: str, passed: bool, message: str, hint: str | None = None,
                details: dict | None = None) -> CheckResult:
        return CheckResult(f"{target}.{name}", target, PROTOCOLS[target].points[name], passed, message,
                           _(hint) if hint else None, details)  # hints here come from tables marked N_

    def _numpy_contract(self, call: CallOutcome) -> CheckResult:
        target, protocol = "mnist_numpy", PROTOCOLS["mnist_numpy"]
        output = (call.data or {}).get("check_output")
        if output is None:
            return self._result(target, "output_contract", False, str(_failure(call)), protocol.interface)
        if output.ndim != 2 or output.shape[1] != 10:
            return self._result(target, "output_contract", False,
                                tr("h2_log has shape {shape} after forward on {count} images; expected ({count}, 10)",
                                   shape=output.shape, count=len(self.sample.x_test)), protocol.interface)
        if not np.isfinite(output).all():
            return self._result(target, "output_contract", False, _("h2_log holds NaN or inf for the untrained model"))
        sums = np.exp(output).sum(axis=1)
        typical = float(np.median(sums))  # the median: the given Softmax's epsilon skews saturated rows
        if abs(typical - 1) > 1e-3:
            return self._result(target, "output_contract", False,
                                tr("h2_log is not log-probabilities: rows of exp(h2_log) sum to {typical:.4g} "
                                   "(median), expected 1", typical=typical), N_("the output layer must stay the given "
                                                                                "Softmax followed by Log"))
        return self._result(target, "output_contract", True, _("h2_log holds log-probabilities: rows of exp(h2_log) "
                                                               "sum to 1"))

    def _tf_logits(self, call: CallOutcome) -> CheckResult:
        target, protocol = "mnist_tf", PROTOCOLS["mnist_tf"]
        data = call.data or {}
        output = data.get("check_output")
        prefix = _("`myModel` is not a TF model returning logits: ")
        if output is None:
            return self._result(target, "logits", False, prefix + str(_failure(call)), protocol.interface)
        n = len(self.sample.x_test)
        problem, hint = None, None
        if output.shape != (n, 10):
            problem = tr("model(x) returned shape {shape} for {n} images; expected ({n}, 10)", shape=output.shape, n=n)
        elif not np.isfinite(output).all():
            problem = _("model(x) returned NaN or inf before any training")
        elif returns_probabilities(output):
            problem, hint = _("model(x) returns probabilities (rows sum to 1)"), N_("return the logits, before any "
                                                                                    "softmax")
        elif (output <= 0).all() and np.allclose(np.log(np.exp(output).sum(axis=1)), 0, atol=1e-3):
            problem, hint = _("model(x) returns log-probabilities"), N_("return the logits, before any (log-)softmax")
        elif (output >= 0).all() and np.mean(output == 0) > 0.05:
            problem, hint = (tr("model(x) passes its output through a ReLU ({mean:.0%} exact zeros, no negative value)",
                                mean=np.mean(output == 0)), N_("logits must be free to be negative: no ReLU on the "
                                                               "last layer"))
        elif "error" in data and "tf.Variable" in data["error"]:
            problem = data["error"]
        if problem:
            return self._result(target, "logits", False, prefix + problem, hint or protocol.interface)
        held = len(data.get("variables", []))
        return self._result(target, "logits", True,
                            tr("model(x) returns ({n}, 10) unnormalised logits; {held} trainable tf.Variables found",
                               n=n, held=held))

    def _trains(self, target: str, call: CallOutcome) -> CheckResult:
        protocol, sample = PROTOCOLS[target], self.sample
        data = call.data or {}
        reference = protocol.reference
        details = {"curve": data.get("curve", {"loss": [], "accuracy": []}), "threshold": self.threshold(target),
                   "reference": {"mean": reference["mean"], "std": reference["std"],
                                 "curve": {"loss": reference["curve_loss"], "accuracy": reference["curve_accuracy"]}}}
        setup = (tr("{steps} full-batch steps on {count} images ({lr_text}), held-out {held_out}", steps=protocol.steps,
                    count=len(sample.x_train), lr_text=_(protocol.lr_text), held_out=len(sample.x_test)))
        failure = _failure(call)
        if failure or "held_out" not in data:
            return self._result(target, "trains", False, tr("training under the grader's protocol failed: {failure}",
                                                            failure=failure),
                                PROTOCOLS[target].interface, details)
        to_log_probs = (lambda o: o) if protocol.kind == "numpy" else log_softmax
        first = cross_entropy(to_log_probs(data["first_train"]), sample.y_train)
        last = cross_entropy(to_log_probs(data["last_train"]), sample.y_train)
        held_out = accuracy(data["held_out"], sample.y_test)
        details.update(held_out_accuracy=held_out, lr=data["lr"], seed=data["seed"], stopped_at=data.get("stopped_at"),
                       trained=data.get("parameters") or data.get("variables", []))
        if (data["seed"], data["lr"]) != (self.seed, protocol.lr):
            setup += tr("; the first run did not learn, so seed {seed} with lr {lr:.3g} was used", seed=data['seed'],
                        lr=data['lr'])
        summary = (tr("{setup}: loss {first:.3g} -> {last:.3g}, held-out accuracy {held_out:.3f} (reference "
                      "{mean:.3f} ± {std:.3f}; pass >= {threshold})", setup=setup, first=first, last=last,
                      held_out=held_out, mean=reference['mean'], std=reference['std'], threshold=self.threshold(target))
                   + self._stopped(data, protocol.steps))
        if not (np.isfinite(first) and np.isfinite(last)) or last < 0:
            return self._result(target, "trains", False, summary, N_("the loss became NaN, inf or negative"), details)
        if abs(last - first) <= 1e-6 * abs(first):
            return self._result(target, "trains", False, summary,
                                N_("the loss does not move: with all-zero weights (or a dead network) no gradient "
                                   "reaches the hidden layer; initialise the weights randomly"), details)
        if protocol.kind == "tf" and returns_probabilities(data["held_out"]):
            return self._result(target, "trains", False, summary,
                                N_("the model returns probabilities, and the notebook's loss applies softmax to them "
                                   "again: it can never fall below log(1 + 9/e) = 1.46 however well the model "
                                   "ranks the classes; return the logits"), details)
        if last > first:
            where = N_("the signs in backward") if protocol.kind == "numpy" else N_("what model(x) computes")
            return self._result(target, "trains", False, summary,
                                tr("the loss went up under gradient descent: check {where}", where=_(where)), details)
        if held_out < self.threshold(target):
            return self._result(target, "trains", False, summary,
                                N_("the model barely learns: check the initialisation (all zeros cannot learn) and "
                                   "the gradients"),
                                details)
        return self._result(target, "trains", True, summary, details=details)

    @staticmethod
    def _stopped(data: dict, steps: int) -> str:
        """What the summary adds when the child stopped before the last step, once the run had passed."""
        stopped = data.get("stopped_at")
        if not stopped:
            return ""
        return tr("; passed at step {step} of {steps}, where training stopped", step=stopped, steps=steps)

    def _student_step(self, target: str, call: CallOutcome, loop: StudentLoop) -> CheckResult:
        data = call.data or {}
        steps = data.get("steps", [])
        details = {"curve": {"loss": [s[0] for s in steps], "accuracy": [s[1] for s in steps]},
                   "loop": asdict(loop)}
        failure = _failure(call)
        if failure:
            return self._result(target, "train_one_step", False, tr("your own training code failed: {failure}",
                                                                    failure=failure),
                                PROTOCOLS[target].interface, details)
        losses = [s[0] for s in steps]
        test_loss, test_accuracy = data["test"]
        given = "model, x, y" if PROTOCOLS[target].kind == "numpy" else "model, optimizer, x, y"
        if loop.batch:
            first, last = data["before"][0], data["after"][0]
            summary = tr("as your loop runs it ({where}: train_one_step({call}) on minibatches of {batch} images), "
                         "{count} steps over the {images} training images took test() on them from loss {first:.4g} "
                         "to {last:.4g}; test() on held-out images returned loss {test_loss:.4g}, accuracy "
                         "{test_accuracy:.3f}", where=loop.where, call=loop.call_text(given), batch=loop.batch,
                         count=len(steps), images=len(self.sample.x_train), first=first, last=last,
                         test_loss=test_loss, test_accuracy=test_accuracy)
        else:
            first, last = losses[0], losses[-1]
            summary = (tr("your train_one_step ran {count} steps: loss {first:.4g} -> {last:.4g}; test() returned loss "
                          "{test_loss:.4g}, accuracy {test_accuracy:.3f}", count=len(steps), first=first,
                          last=last, test_loss=test_loss, test_accuracy=test_accuracy))
            if loop.own:
                summary = tr("as your loop calls it ({where}: train_one_step({call})): {summary}", where=loop.where,
                             call=loop.call_text(given), summary=summary)
        if loop.optimizer_text():
            summary += tr("; with your loop's {optimizer}", optimizer=loop.optimizer_text())
        if not all(np.isfinite(v) and v >= 0 for v in losses + [first, last, test_loss]) or not 0 <= test_accuracy <= 1:
            return self._result(target, "train_one_step", False, summary,
                                N_("losses must be finite and non-negative, accuracy within [0, 1]"), details)
        if last >= first:
            return self._result(target, "train_one_step", False, summary,
                                N_("the loss goes up: the update must subtract the gradient (W -= lr * grad, "
                                   "v.assign_sub(lr * g)), not add it"), details)
        return self._result(target, "train_one_step", True, summary, details=details)
