"""Child side of Part 4: does a fitted model's output come from its parameters?

A model that returns the target's own formula (with the network multiplied by zero) or looks up
the training points would pass any measure of fit. So each measured model's parameters are found
(torch parameters, Keras/TF variables, the float arrays a NumPy model or a prediction's code
reads: attributes, globals and closures of the functions it calls) and perturbed in place by a
seeded 10% noise; the predictions must move. The student's own data arrays are not parameters.
Everything is restored afterwards.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Callable

import numpy as np

MOVES = 1e-3  # the least change, relative to the predictions' range, that shows they depend on the parameters
MAX_PARAMETERS = 200


def _variable(value: Any) -> bool:
    """A TensorFlow or Keras variable (changed through `assign`)."""
    kind = type(value)
    return not isinstance(value, np.ndarray) and callable(getattr(kind, "assign", None)) and \
        callable(getattr(kind, "numpy", None)) and hasattr(value, "shape") and \
        kind.__module__.split(".")[0] in ("tensorflow", "keras", "tf_keras")


def _is_data(value: Any, data: list[np.ndarray]) -> bool:
    if not isinstance(value, np.ndarray):
        return False
    flat = value.reshape(-1)
    return any(flat.shape == d.shape and np.allclose(flat, d, equal_nan=True) for d in data)


def _collect(value: Any, found: dict[int, Any], data: list[np.ndarray], depth: int) -> None:
    """Parameters reachable from `value` (see the module docstring), by identity."""
    if depth < 0 or len(found) >= MAX_PARAMETERS or isinstance(value, (str, bytes, int, float, bool, type(None))):
        return
    torch = sys.modules.get("torch")
    tensorflow = sys.modules.get("tensorflow")
    if torch is not None and isinstance(value, torch.nn.Module):
        for parameter in value.parameters():
            found.setdefault(id(parameter), parameter)
        return
    if torch is not None and isinstance(value, torch.Tensor):
        if value.is_floating_point() and value.numel() > 1 and not _is_data(value.detach().cpu().numpy(), data):
            found.setdefault(id(value), value)
        return
    if _variable(value):
        found.setdefault(id(value), value)
        return
    try:
        variables = list(getattr(value, "trainable_variables", None) or []) if tensorflow is not None else []
    except Exception:  # a property that raises: not a model's variables
        variables = []
    if variables:  # tf.Module, Keras 2 and 3 models and layers
        for variable in variables:
            found.setdefault(id(variable), variable)
        return
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and value.size > 1 and value.flags.writeable and not _is_data(value, data):
            found.setdefault(id(value), value)
        return
    if isinstance(value, (list, tuple)) and len(value) <= 100:
        for item in value:
            _collect(item, found, data, depth - 1)
        return
    if isinstance(value, dict) and len(value) <= 100:
        for item in list(value.values()):
            _collect(item, found, data, depth - 1)
        return
    if isinstance(value, types.FunctionType):
        if value.__code__.co_filename.startswith("<dlgrade"):
            for name in value.__code__.co_names:
                if name in value.__globals__:
                    _collect(value.__globals__[name], found, data, depth - 1)
            for cell in value.__closure__ or ():
                try:
                    _collect(cell.cell_contents, found, data, depth - 1)
                except ValueError:  # an empty cell
                    pass
        return
    if isinstance(value, types.MethodType):
        _collect(value.__self__, found, data, depth)
        return
    state = getattr(value, "__dict__", None)
    if isinstance(state, dict) and not isinstance(value, (type, types.ModuleType)):
        for item in list(state.values()):
            _collect(item, found, data, depth - 1)


def parameters(roots: list[Any], data: list[np.ndarray]) -> list[Any]:
    """The parameters a model (or the values its prediction code reads) holds."""
    found: dict[int, Any] = {}
    for root in roots:
        _collect(root, found, data, depth=3)
    return list(found.values())


def _perturbed(parameter: Any, rng: np.random.Generator) -> Callable[[], None]:
    """Add a seeded noise of 10% of the parameter's scale in place; returns the undo."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(parameter, torch.Tensor):
        with torch.no_grad():
            saved = parameter.detach().clone()
            scale = float(saved.abs().mean()) + 1e-3
            parameter.add_(torch.as_tensor(rng.normal(0, 0.1 * scale, tuple(parameter.shape)), dtype=parameter.dtype))

        def undo() -> None:
            with torch.no_grad():
                parameter.copy_(saved)
        return undo
    if _variable(parameter):
        saved = np.asarray(parameter.numpy())
        scale = float(np.abs(saved).mean()) + 1e-3
        parameter.assign_add(rng.normal(0, 0.1 * scale, saved.shape).astype(saved.dtype))
        return lambda: parameter.assign(saved)
    saved = parameter.copy()
    scale = float(np.abs(saved).mean()) + 1e-3
    parameter += rng.normal(0, 0.1 * scale, saved.shape).astype(saved.dtype)

    def restore() -> None:
        parameter[...] = saved
    return restore


def sensitivity(predict: Callable[[], np.ndarray | None], found: list[Any], before: np.ndarray,
                seed: int = 0) -> float | None:
    """max |change| of the predictions, relative to their range, when every parameter is perturbed;
    None when it cannot be measured."""
    if not found:
        return None
    rng = np.random.default_rng(seed)
    undo = []
    try:
        for parameter in found:
            undo.append(_perturbed(parameter, rng))
        after = predict()
    except Exception:  # a parameter that refuses to change, or a model that breaks: not measurable
        after = None
    finally:
        for restore in reversed(undo):
            try:
                restore()
            except Exception:  # restoring failed: the final measurement is already taken
                pass
    if after is None or after.shape != before.shape:
        return None
    spread = float(np.ptp(before)) if np.isfinite(before).all() else 0.0
    change = float(np.max(np.abs(after - before))) if np.isfinite(after).all() else np.inf
    return change / spread if spread > 0 else (np.inf if change > 0 else 0.0)
