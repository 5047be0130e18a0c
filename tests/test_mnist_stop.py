"""The MNIST protocol stops once its run has passed; the parent's verdict still comes from the outputs."""

from __future__ import annotations

import numpy as np

from grader.checks.mnist import STOP_EVERY, Training
from grader.mnist import load_sample
from grader.probes.training import numpy_protocol
from grader.sandbox.jobs import CallOutcome


class SoftmaxRegression:
    """A numpy model under the Part 2 interface: h2_log log-probabilities, W1_grad; learns fast."""

    def __init__(self, ascent: bool = False) -> None:
        self.W1 = np.random.normal(scale=0.01, size=[28 * 28, 10])
        self.sign = -1.0 if ascent else 1.0

    def forward(self, x: np.ndarray) -> None:
        self.x = x.reshape(len(x), -1)
        logits = self.x @ self.W1
        shifted = logits - logits.max(axis=1, keepdims=True)
        self.h2_log = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def backward(self, label: np.ndarray) -> None:
        self.W1_grad = self.sign * self.x.T @ (np.exp(self.h2_log) - label)


def _protocol(ascent: bool, stop: bool) -> dict:
    sample = load_sample()
    training = Training()
    call = {"x_train": sample.x_train, "y_train": sample.y_train, "x_test": sample.x_test, "steps": 30,
            "attempts": [[0, 3e-4]], "stop": training._stop("mnist_numpy") if stop else None}
    namespace = {"myModel": lambda: SoftmaxRegression(ascent)}
    return numpy_protocol(namespace, {"where": {}}, call)


def test_a_run_that_passes_stops_at_a_checkpoint_and_the_parent_passes_it():
    result = _protocol(ascent=False, stop=True)
    assert result["stopped_at"] == STOP_EVERY, result.get("stopped_at")
    assert len(result["curve"]["loss"]) == STOP_EVERY
    check = Training()._trains("mnist_numpy", CallOutcome(data=result))
    assert check.passed and f"passed at step {STOP_EVERY} of 30" in check.message, check.message
    assert check.details["stopped_at"] == STOP_EVERY


def test_a_run_that_fails_runs_every_step_with_the_same_verdict():
    stopped, full = _protocol(ascent=True, stop=True), _protocol(ascent=True, stop=False)
    assert "stopped_at" not in stopped and len(stopped["curve"]["loss"]) == 30
    judged = [Training()._trains("mnist_numpy", CallOutcome(data=r)) for r in (stopped, full)]
    assert not judged[0].passed and (judged[0].message, judged[0].hint) == (judged[1].message, judged[1].hint)
    assert "went up" in judged[0].hint and "passed at step" not in judged[0].message


def test_the_parent_judges_the_outputs_not_the_claimed_stop():
    result = _protocol(ascent=False, stop=True)
    untrained = np.log(np.full((len(result["held_out"]), 10), 0.1))
    claim = dict(result, held_out=untrained + np.random.default_rng(0).normal(scale=1e-3, size=untrained.shape))
    check = Training()._trains("mnist_numpy", CallOutcome(data=claim))
    assert not check.passed and "barely learns" in check.hint


def test_the_calibration_runs_every_step():
    assert Training(stop_early=False)._stop("mnist_tf") is None
    assert Training()._stop("mnist_tf")["accuracy"] > Training().threshold("mnist_tf")
