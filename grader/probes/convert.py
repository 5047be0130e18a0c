"""Turn whatever student code returned or raised into plain data (child side)."""

from __future__ import annotations

import re
import traceback
from typing import Any

import numpy as np

from grader.i18n import _, tr

MAX_OUTPUT_ELEMENTS = 10_000_000
_TF_NOISE = re.compile(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\].*$")


def type_name(value: Any) -> str:
    """A short, stable name for the type of a returned value (e.g. `tf.Tensor`, `numpy.ndarray`)."""
    kind = type(value)
    module = kind.__module__ or ""
    if module.startswith("tensorflow"):
        return "tf.Variable" if "Variable" in kind.__name__ else "tf.Tensor"
    if module.startswith("torch"):
        return "torch.Tensor"
    if module == "builtins":
        return kind.__name__
    return f"{module.split('.')[0]}.{kind.__name__}"


def to_array(value: Any) -> tuple[np.ndarray | None, str | None]:
    """Convert a tf.Tensor / tf.Variable / ndarray / numpy or Python scalar / CPU torch tensor.

    Returns (array, None) or (None, reason). The conversion runs here in the child, so a hostile
    `__array__` or `numpy()` only ever runs in the sandbox.
    """
    if value is None:
        return None, _("returned None")
    try:
        module = type(value).__module__ or ""
        if module.startswith("torch") and hasattr(value, "detach"):
            array = value.detach().cpu().numpy()
        elif hasattr(value, "numpy") and module.startswith("tensorflow"):
            array = value.numpy()
        else:
            array = np.asarray(value)
        array = np.array(array, copy=True)
    except Exception as error:  # arbitrary objects can fail conversion in arbitrary ways
        return None, tr("returned a {kind} that cannot be converted to an array ({error})", kind=type_name(value),
                        error=error)
    if array.dtype.kind not in "biufc":
        try:
            array = array.astype(np.float64)  # bfloat16 and friends
        except (TypeError, ValueError):
            return None, tr("returned a {kind} holding {dtype} values, not numbers", kind=type_name(value),
                            dtype=array.dtype)
    if array.size > MAX_OUTPUT_ELEMENTS:
        return None, tr("returned {size} elements, more than the {cap} accepted", size=array.size,
                        cap=MAX_OUTPUT_ELEMENTS)
    return array, None


def describe_exception(error: BaseException, where: dict[str, str]) -> str:
    """`ValueError at tf2.ipynb, cell 3, line 7: message`, pointing at the deepest student frame."""
    location = ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename in where:
            code = f" (`{frame.line.strip()}`)" if frame.line else ""
            location = tr(" at {where}, line {line}{code}", where=where[frame.filename], line=frame.lineno, code=code)
            break
    message = str(error).strip().splitlines()
    text = _TF_NOISE.sub("", message[0]) if message else ""
    if isinstance(error, SystemExit):
        text = tr("sys.exit({code!r}) was called", code=error.code)
    return f"{type(error).__name__}{location}: {text[:400]}"
