"""Probe for Part 1: call a student function positionally on parent-made inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.probes.convert import describe_exception, to_array, type_name
from grader.sandbox import tripwire


def _as_argument(spec: dict[str, Any]) -> Any:
    array = np.array(spec["value"], copy=True)
    if spec["as"] == "tensor":
        import tensorflow as tf

        return tf.constant(array)
    return array


def call_function(namespace: dict, job: dict, call: dict) -> dict:
    """Call `job["target"]` on the call's arguments; report the output, error and tripwire hits."""
    function = namespace[job["target"]]
    exempt = [namespace[name] for name in job.get("exempt", []) if callable(namespace.get(name))]
    arguments = [_as_argument(spec) for spec in call["args"]]
    tripwire.activate(exempt)
    try:
        value = function(*arguments)
    except BaseException as error:  # the student's function may raise anything, SystemExit too
        return {"error": describe_exception(error, job["where"]), "forbidden": tripwire.deactivate()}
    forbidden = tripwire.deactivate()
    array, problem = to_array(value)
    result: dict[str, Any] = {"type": type_name(value), "forbidden": forbidden}
    if problem:
        result["error"] = problem
    else:
        result["output"] = array
    return result
