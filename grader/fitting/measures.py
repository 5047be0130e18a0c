"""How well a fitted model follows its target, measured as a teaching assistant would (parent side).

The child sends each model and target evaluated on a dense grid over the training interval and
on the student's own x (train and test). Measured here, per model and target:

- the student's own test points that lie within the training interval (what the student
  shows the fit on): R² of the model against the target there, the primary measure;
- the dense grid: R² over 1,000 points, the guard against a model that memorised its training
  points or is no better than a straight line; without a usable test set, the primary measure.

A target is used only where it agrees with the student's own training data (the student may
train on normalised x, so that the target's formula lives in another domain than the model's
input). Without such a target the model is measured against the student's own y_test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from grader.i18n import N_

CONSISTENT = 0.8  # R² of the target against the student's own y_train that shows they live in one domain
MIN_TEST_POINTS = 5


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


@dataclass
class Pairing:
    """One model measured against one target (or against the student's own data)."""

    model: dict
    target: dict | None
    r2: float  # the primary measure: the student's in-range test points, else the grid
    against: str  # N_ text: "test set", "grid", "training points"
    max_error: float
    line_r2: float | None  # a straight line's R² where r2 was measured
    grid_r2: float | None = None  # the guard, when r2 is on the test set
    test_points: int = 0
    truth: np.ndarray | None = None  # the target on the grid, noise mean added
    measured: dict | None = None  # what the child measured this in: the run's end, or a snapshot

    def passes(self, threshold: float, margin: float, guard: float) -> bool:
        """R² at least `threshold`, a residual at most `margin` of the straight line's (a curved
        target), and, when judged on the test set, at least `guard` on the dense grid."""
        if not math.isfinite(self.r2) or self.r2 < threshold:
            return False
        if self.grid_r2 is not None and not self.grid_r2 >= guard:
            return False
        if self.line_r2 is None or self.line_r2 >= 0.999:  # a (nearly) straight target: any good fit will do
            return True
        return (1 - self.r2) <= margin * (1 - self.line_r2)


def noise_mean(target: dict, given: dict) -> float:
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


def _values(given: dict, role: str) -> np.ndarray | None:
    found = (given.get(role) or {}).get("values")
    return found if isinstance(found, np.ndarray) else None


def consistent(target: dict, given: dict, offset: float) -> bool:
    """Whether the target, on the student's own training x, gives the student's own y (same
    domain); True when the student's data cannot tell."""
    for role in ("train", ""):
        on_x = target.get(f"on_x_{role}" if role else "on_x")
        y = _values(given, f"y_{role}" if role else "y")
        if isinstance(on_x, np.ndarray) and y is not None and on_x.shape == y.shape:
            return r_squared(on_x + offset, y) >= CONSISTENT
    return True


def _in_range(given: dict, interval: list[float] | None) -> np.ndarray | None:
    """Mask of the student's test points that lie within the training interval."""
    x_test = _values(given, "x_test")
    if x_test is None or not interval:
        return None
    low, high = interval
    slack = 1e-9 * max(high - low, 1e-12)
    return (x_test >= low - slack) & (x_test <= high + slack)


def _max_error(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(np.max(np.abs(predicted - truth))) if np.isfinite(predicted).all() else math.inf


def against_target(model: dict, target: dict, data: dict) -> Pairing | None:
    """The model against a target of the same domain: the in-range test points, the grid as guard."""
    given, grid = data.get("data", {}), data.get("grid")
    if not isinstance(model.get("grid"), np.ndarray) or model["grid"].shape != target["grid"].shape \
            or not np.isfinite(target["grid"]).all():
        return None
    offset = noise_mean(target, given)
    if not consistent(target, given, offset):
        return None
    truth = target["grid"] + offset
    grid_r2 = r_squared(model["grid"], truth)
    grid_line = line_r_squared(grid, truth)
    mask = _in_range(given, data.get("interval"))
    on_model, on_target = model.get("on_x_test"), target.get("on_x_test")
    if mask is not None and int(mask.sum()) >= MIN_TEST_POINTS and isinstance(on_model, np.ndarray) \
            and isinstance(on_target, np.ndarray) and on_model.shape == on_target.shape == mask.shape:
        test_truth = on_target[mask] + offset
        if np.ptp(test_truth) > 0:
            x_test = _values(given, "x_test")[mask]
            return Pairing(model, target, r_squared(on_model[mask], test_truth), N_("test set"),
                           _max_error(on_model[mask], test_truth), line_r_squared(x_test, test_truth), grid_r2,
                           int(mask.sum()), truth)
    return Pairing(model, target, grid_r2, N_("grid"), _max_error(model["grid"], truth), grid_line, None, 0, truth)


def against_data(model: dict, data: dict) -> Pairing | None:
    """The model against the student's own y: the in-range test set, else the training points."""
    given = data.get("data", {})
    mask = _in_range(given, data.get("interval"))
    predicted, truth, x = model.get("on_x_test"), _values(given, "y_test"), _values(given, "x_test")
    if mask is not None and int(mask.sum()) >= MIN_TEST_POINTS and isinstance(predicted, np.ndarray) \
            and truth is not None and predicted.shape == truth.shape == mask.shape:
        return Pairing(model, None, r_squared(predicted[mask], truth[mask]), N_("test set"),
                       _max_error(predicted[mask], truth[mask]), line_r_squared(x[mask], truth[mask]),
                       None, int(mask.sum()))
    for role in ("x_train", "x"):
        predicted = model.get(f"on_{role}")
        truth, x = _values(given, role.replace("x", "y", 1)), _values(given, role)
        if isinstance(predicted, np.ndarray) and truth is not None and x is not None \
                and predicted.shape == truth.shape == x.shape:
            return Pairing(model, None, r_squared(predicted, truth), N_("training points"),
                           _max_error(predicted, truth), line_r_squared(x, truth))
    return None


def _pairs_in(data: dict) -> list[Pairing]:
    """Every model measured in `data` against every target of its domain (else against the student's
    own data); what the student predicts with, when found, is the only model considered."""
    models = [m for m in data.get("models", []) if isinstance(m.get("grid"), np.ndarray)]
    if any(m.get("predicts") for m in models):  # what the student predicts with is the model
        models = [m for m in models if m.get("predicts")]
    targets = [t for t in data.get("targets", []) if isinstance(t.get("grid"), np.ndarray)]
    pairs = [p for m in models for t in targets if (p := against_target(m, t, data)) is not None]
    if not pairs:
        pairs = [p for m in models if (p := against_data(m, data)) is not None]
    for pair in pairs:
        pair.measured = data
    return pairs


def _best_in(data: dict) -> Pairing | None:
    pairs = _pairs_in(data)
    return max(pairs, key=_rank) if pairs else None


def _rank(pairing: Pairing) -> tuple[bool, float]:
    return pairing.against != "training points", pairing.r2 if math.isfinite(pairing.r2) else -math.inf


def best_pairing(data: dict) -> Pairing | None:
    """The best (model, target) pair; else the best model on the student's own data. What the
    student predicts with, when found, is the only model considered. Besides the run's end, the
    child measured each prediction right where the student made it (`snapshots`): the best counts."""
    found = [p for measured in [data] + list(data.get("snapshots", [])) if (p := _best_in(measured)) is not None]
    return max(found, key=_rank) if found else None


def piece_of(model: dict) -> str:
    """Which piece of fitting code a model is: the first statement of the student's path from x to the
    prediction (a normalised prediction and its de-normalised one are one piece), else its name."""
    return (model.get("code") or model["name"]).split("\n", 1)[0]


def pieces(data: dict) -> list[Pairing]:
    """The best pairing of each piece the student predicts with (a NumPy network, then a PyTorch one
    in the same notebook), over the run's end and the snapshots, best first: every piece is judged.
    Two calls of one network (`forward(x_test, params)` twice) predict the same and are one piece."""
    best: list[Pairing] = []
    for measured in [data] + list(data.get("snapshots", [])):
        for pairing in _pairs_in(measured):
            same = next((i for i, kept in enumerate(best) if _same_piece(kept.model, pairing.model)), None)
            if same is None:
                best.append(pairing)
            elif _rank(pairing) > _rank(best[same]):
                best[same] = pairing
    return sorted(best, key=_rank, reverse=True)


def _same_piece(one: dict, other: dict) -> bool:
    if piece_of(one) == piece_of(other):
        return True
    first, second = one.get("grid"), other.get("grid")
    return isinstance(first, np.ndarray) and isinstance(second, np.ndarray) and first.shape == second.shape \
        and bool(np.allclose(first, second, rtol=1e-6, atol=1e-9 * max(float(np.ptp(first)), 1e-12)))
