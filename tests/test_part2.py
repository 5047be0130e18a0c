"""Part 2: Matmul and Relu backward judged by finite differences and tf.GradientTape."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import part2 as part2_module
from grader.checks.part2 import GIVEN_CLASSES, band, fingerprint, given_fingerprints, relative_error
from grader.pipeline import load_sources
from grader.targets import TARGETS, locate
from tests.conftest import REPO
from tests.helpers import NOTEBOOKS, assert_only_target_lost, reference_cells, write_handin

MATMUL_HEAD = "class Matmul:\n    def __init__(self):\n        self.mem = {}\n\n    def forward(self, x, W):\n" \
              "        h = np.matmul(x, W)\n        self.mem = {'x': x, 'W': W}\n        return h\n\n    def backward(self, grad_y):\n" \
              "        x = self.mem['x']\n        W = self.mem['W']\n"
RELU_HEAD = "class Relu:\n    def __init__(self):\n        self.mem = {}\n\n    def forward(self, x):\n        self.mem['x'] = x\n" \
            "        return np.where(x > 0, x, np.zeros_like(x))\n\n    def backward(self, grad_y):\n        x = self.mem['x']\n"


def matmul(body: str) -> str:
    return MATMUL_HEAD + "".join(f"        {line}\n" for line in body.split("\n"))


def relu(body: str) -> str:
    return RELU_HEAD + "".join(f"        {line}\n" for line in body.split("\n"))


CORRECT = [
    ("Matmul", matmul("return np.dot(grad_y, W.T), np.dot(x.T, grad_y)")),
    ("Matmul", matmul("grad_x = grad_y @ W.T\ngrad_W = x.T @ grad_y\nreturn [grad_x, grad_W]")),
    ("Matmul", matmul("grad_x = np.einsum('nk,dk->nd', grad_y, W)\ngrad_W = np.einsum('nd,nk->dk', x, grad_y)\nreturn grad_x, grad_W")),
    ("Matmul", matmul("return tf.matmul(grad_y, W, transpose_b=True), tf.matmul(x, grad_y, transpose_a=True)")),
    ("Matmul", "class Matmul:\n    def forward(self, x, W):\n        self.x, self.W = x, W\n        return x @ W\n"
               "    def backward(self, grad_y):\n        grad_W = self.x.T.dot(grad_y)\n        grad_y = grad_y.dot(self.W.T)\n"
               "        self.x = None\n        return grad_y, grad_W"),
    ("Relu", relu("return grad_y * (x >= 0)")),
    ("Relu", relu("grad_y[x <= 0] = 0\nreturn grad_y")),
    ("Relu", relu("return np.where(x > 0, grad_y, 0.0)")),
    ("Relu", relu("return np.heaviside(x, 0) * grad_y")),
    ("Relu", "class Relu:\n    def __init__(self):\n        self.mem = {}\n    def forward(self, x):\n        self.mem['x'] = x.copy()\n"
             "        x[x < 0] = 0\n        return x\n    def backward(self, grad_y):\n        self.mem['x'][self.mem['x'] < 0] = 0\n"
             "        return grad_y * (self.mem['x'] > 0)"),
]

BUGGY = [
    ("Matmul", matmul("return x.T @ grad_y, grad_y @ W.T"), {"Matmul.contract", "Matmul.backward_fd"}, "order is (grad_x, grad_W)"),
    ("Matmul", matmul("return grad_y @ W, x.T @ grad_y"), {"Matmul.contract", "Matmul.backward_tf"}, "transpose is missing"),
    ("Matmul", matmul("N = x.shape[0]\nreturn grad_y @ W.T / N, x.T @ grad_y / N"), {"Matmul.backward_fd", "Matmul.backward_tf"}, "batch size"),
    ("Matmul", matmul("return grad_y @ W.T, grad_y.T @ x"), {"Matmul.contract"}, "x.T @ grad_y"),
    ("Matmul", matmul("grad_x = grad_y @ W.T\ngrad_W = x.T @ grad_y"), {"Matmul.contract"}, "returned None"),
    ("Matmul", matmul("return -grad_y @ W.T, x.T @ grad_y"), {"Matmul.backward_tf"}, "sign error in grad_x"),
    ("Matmul", matmul("return grad_y @ W.T"), {"Matmul.contract"}, "return grad_x, grad_W"),
    ("Relu", relu("return grad_y * (grad_y > 0)"), {"Relu.backward_fd", "Relu.backward_tf"}, "computed on grad_y"),
    ("Relu", relu("return (x > 0).astype(float)"), {"Relu.backward_tf"}, "without multiplying"),
    ("Relu", relu("return grad_y"), {"Relu.backward_tf"}, "identity backward"),
    ("Relu", relu("return grad_y * (x < 0)"), {"Relu.backward_tf"}, "inverted"),
    ("Relu", relu("return grad_y * (x > 0) / x.shape[0]"), {"Relu.backward_tf"}, "batch size"),
    ("Relu", relu("grad_x = grad_y * (x > 0)"), {"Relu.contract"}, "returned None"),
    ("Relu", "class Relu:\n    def __init__(self):\n        self.mem = {}\n    def forward(self, x):\n        self.mem['x'] = x\n        return x\n"
             "    def backward(self, grad_y):\n        return grad_y * (self.mem['x'] > 0)", {"Relu.forward", "Relu.backward_fd"}, None),
]



@pytest.mark.parametrize("target,source", CORRECT, ids=[f"{t}-{i}" for i, (t, _) in enumerate(CORRECT)])
def test_correct_layer_gets_full_marks(grade, tmp_path, target, source):
    checks, result = grade(write_handin(tmp_path, **{target: source}))
    assert [c.message for c in checks.values() if not c.passed] == []
    assert result.per_target()[target] == (8.0, 8.0)


@pytest.mark.parametrize("target,source,failing,hint", BUGGY, ids=[f"{v[0]}-{i}" for i, v in enumerate(BUGGY)])
def test_buggy_layer_loses_points_on_its_own_target(grade, tmp_path, target, source, failing, hint):
    checks, result = grade(write_handin(tmp_path, **{target: source}))
    assert_only_target_lost(result, target)
    for check_id in failing:
        assert not checks[check_id].passed, check_id
    if hint:
        hints = " ".join((checks[c].hint or "") + " " + checks[c].message for c in failing)
        assert hint in hints, hints


def test_messages_report_relative_errors_per_tensor(grade, tmp_path):
    checks, _ = grade(write_handin(tmp_path, Matmul=matmul("return grad_y @ W.T, 2 * x.T @ grad_y")))
    message = checks["Matmul.backward_tf"].message
    assert "grad_x rel err" in message and "(exact)" in message and "grad_W rel err" in message and "(wrong)" in message
    assert "(exact)" in checks["Relu.backward_fd"].message


def test_given_softmax_and_log_are_reported_without_points(grade, tmp_path):
    checks, result = grade(write_handin(tmp_path))
    assert result.per_target()["Softmax"] == result.per_target()["Log"] == (0.0, 0.0)
    assert checks["Softmax.backward_fd"].passed and checks["Log.backward_tf"].passed
    broken = "class Softmax:\n    def forward(self, x):\n        return x\n    def backward(self, grad_y):\n        return grad_y"
    checks, result = grade(write_handin(tmp_path, Softmax=broken))
    assert not checks["Softmax.forward"].passed
    assert result.passed  # zero-point checks inform, they do not fail the hand-in


def test_unchanged_given_code_is_not_run_but_passes_when_run(grade, tmp_path, monkeypatch):
    checks, _ = grade(write_handin(tmp_path / "as_given"), {"Softmax", "Log"})
    assert all(c.passed and "unchanged" in c.message for c in checks.values())
    monkeypatch.setattr(part2_module, "given_fingerprints", lambda: {})  # forget the fingerprints: run it
    checks, _ = grade(write_handin(tmp_path / "run"), {"Softmax", "Log"})
    assert len(checks) == 8 and all(c.passed and "unchanged" not in c.message for c in checks.values())


def test_given_code_edited_in_any_way_that_matters_is_run(grade, tmp_path):
    source = next(c for c in reference_cells(NOTEBOOKS["numpy"]) if c.startswith("class Softmax"))
    commented = source.replace("class Softmax:", "class Softmax:  # given code\n\n", 1)
    checks, _ = grade(write_handin(tmp_path / "commented", Softmax=commented), {"Softmax"})
    assert all("unchanged" in c.message for c in checks.values())
    edited = source.replace("np.exp(x)", "np.exp(x - x.max(axis=-1, keepdims=True))", 1)
    assert edited != source
    checks, _ = grade(write_handin(tmp_path / "edited", Softmax=edited), {"Softmax"})
    assert checks["Softmax.forward"].passed and "unchanged" not in checks["Softmax.forward"].message


def test_shipped_fingerprints_are_those_of_the_reference_notebook():
    files = [f for f in load_sources(REPO / "reference") if f.display == NOTEBOOKS["numpy"]]
    for name in GIVEN_CLASSES:
        assert fingerprint(locate(TARGETS[name], files).definition) == given_fingerprints()[name]


def test_relative_error_bands():
    a = np.array([1.0, -2.0])
    assert relative_error(a, a) == 0.0 and band(0.0) == "exact"
    assert band(relative_error(a, a * (1 + 1e-6))) == "close"
    assert band(relative_error(a, a / 5)) == "wrong"
