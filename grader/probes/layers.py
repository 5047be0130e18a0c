"""Probe for Part 2: build a fresh layer, run forward and backward on copies of parent-made inputs.

`roundtrip` runs `forward(*inputs)` then `backward(grad_y)` on one instance; `forward_many`
runs forward alone on many perturbed inputs (a fresh instance each), which is what the parent
needs to take finite differences of the student's own forward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.probes.convert import describe_exception, to_array, type_name
from grader.i18n import tr


def _copies(arrays: list[np.ndarray]) -> list[np.ndarray]:
    return [np.array(a, copy=True) for a in arrays]


def _backward_values(value: Any) -> tuple[list[np.ndarray] | None, str | None]:
    """A backward result as a list of arrays: one for a bare array, several for a tuple/list."""
    items = list(value) if isinstance(value, (tuple, list)) else [value]
    arrays = []
    for item in items:
        array, problem = to_array(item)
        if problem:
            return None, problem
        arrays.append(array)
    return arrays, None


def roundtrip(namespace: dict, job: dict, call: dict) -> dict:
    layer_class = namespace[job["target"]]
    try:
        layer = layer_class()
        output = layer.forward(*_copies(call["inputs"]))
    except BaseException as error:  # student code may raise anything
        return {"error": tr("forward {problem}", problem=describe_exception(error, job["where"]))}
    forward, problem = to_array(output)
    if problem:
        return {"error": tr("forward {problem}", problem=problem)}
    try:
        returned = layer.backward(np.array(call["grad_y"], copy=True))
    except BaseException as error:
        return {"forward": forward, "error": tr("backward {problem}", problem=describe_exception(error, job["where"]))}
    values, problem = _backward_values(returned)
    if problem:
        return {"forward": forward, "error": tr("backward {problem}", problem=problem)}
    return {"forward": forward, "backward": values, "backward_type": type_name(returned)}


def forward_many(namespace: dict, job: dict, call: dict) -> dict:
    layer_class = namespace[job["target"]]
    outputs = []
    for inputs in call["inputs_list"]:
        try:
            output = layer_class().forward(*_copies(inputs))
        except BaseException as error:
            return {"error": tr("forward {problem}", problem=describe_exception(error, job["where"]))}
        array, problem = to_array(output)
        if problem:
            return {"error": tr("forward {problem}", problem=problem)}
        outputs.append(array.astype(np.float64))
    shapes = {o.shape for o in outputs}
    if len(shapes) != 1:
        return {"error": tr("forward returned outputs of varying shapes {shapes}", shapes=sorted(shapes))}
    return {"outputs": np.stack(outputs)}


def layer_call(namespace: dict, job: dict, call: dict) -> dict:
    """Dispatch on the call's kind."""
    return {"roundtrip": roundtrip, "forward_many": forward_many}[call["kind"]](namespace, job, call)
