"""Runtime tripwire: notice forbidden TF/Keras built-ins reached while a graded function runs.

Installed once in the zygote, before any student code exists, so every alias a student later
binds (`from tensorflow.nn import softmax as f`, `getattr(tf.nn, "soft" + "max")`) already
points at a wrapper. The wrappers sit at the choke points every public route passes through
(the generated op wrappers, `raw_ops`, the Python-level sigmoid cross-entropy and Keras'
backend losses) and are replaced by identity in every loaded TF/Keras module. They only
record while a target is active, and not while the student's *own* other graded functions run
(softmax_ce may call the student's softmax).
"""

from __future__ import annotations

import importlib
import sys
from types import CodeType
from typing import Any, Callable

from grader.i18n import N_

# (module, attribute, what the student is told they used: translated where the parent words its message)
_CHOKE_POINTS = [
    ("tensorflow.python.ops.gen_nn_ops", "softmax", N_("TensorFlow's softmax (tf.nn.softmax or an alias)")),
    ("tensorflow.python.ops.gen_nn_ops", "Softmax", "tf.raw_ops.Softmax"),
    ("tensorflow.python.ops.gen_nn_ops", "log_softmax", N_("TensorFlow's log_softmax")),
    ("tensorflow.python.ops.gen_nn_ops", "LogSoftmax", "tf.raw_ops.LogSoftmax"),
    ("tensorflow.python.ops.gen_math_ops", "sigmoid", N_("TensorFlow's sigmoid (tf.sigmoid / tf.nn.sigmoid or an "
                                                         "alias)")),
    ("tensorflow.python.ops.gen_math_ops", "Sigmoid", "tf.raw_ops.Sigmoid"),
    ("tensorflow.python.ops.gen_nn_ops", "softmax_cross_entropy_with_logits", "tf.nn.softmax_cross_entropy_with_logits"),
    ("tensorflow.python.ops.gen_nn_ops", "SoftmaxCrossEntropyWithLogits", "tf.raw_ops.SoftmaxCrossEntropyWithLogits"),
    ("tensorflow.python.ops.gen_nn_ops", "sparse_softmax_cross_entropy_with_logits", "tf.nn.sparse_softmax_cross_entropy_with_logits"),
    ("tensorflow.python.ops.gen_nn_ops", "SparseSoftmaxCrossEntropyWithLogits", "tf.raw_ops.SparseSoftmaxCrossEntropyWithLogits"),
    ("tensorflow.python.ops.nn_impl", "sigmoid_cross_entropy_with_logits", "tf.nn.sigmoid_cross_entropy_with_logits"),
    ("tensorflow.python.ops.nn_impl", "sigmoid_cross_entropy_with_logits_v2", "tf.nn.sigmoid_cross_entropy_with_logits"),
    ("tensorflow.python.ops.nn_impl", "weighted_cross_entropy_with_logits", "tf.nn.weighted_cross_entropy_with_logits"),
    ("tensorflow.python.ops.nn_impl", "weighted_cross_entropy_with_logits_v2", "tf.nn.weighted_cross_entropy_with_logits"),
    ("keras.src.backend.tensorflow.nn", "binary_crossentropy", "Keras binary_crossentropy"),
    ("keras.src.backend.tensorflow.nn", "categorical_crossentropy", "Keras categorical_crossentropy"),
    ("keras.src.backend.tensorflow.nn", "sparse_categorical_crossentropy", "Keras sparse_categorical_crossentropy"),
]
_SCANNED_PREFIXES = ("tensorflow", "keras", "tf_keras")


class _State:
    active = False
    exempt_codes: frozenset[CodeType] = frozenset()
    exempt_names: frozenset[str] = frozenset()  # AutoGraph runs converted copies named tf__<name>
    hits: list[str] = []


def _inside_exempt() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code in _State.exempt_codes or frame.f_code.co_name in _State.exempt_names:
            return True
        frame = frame.f_back
    return False


def _wrap(original: Callable, used: str) -> Callable:
    def tripwire(*args: Any, **kwargs: Any) -> Any:
        if _State.active and not _inside_exempt() and used not in _State.hits:
            _State.hits.append(used)
        return original(*args, **kwargs)

    for attribute in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(tripwire, attribute, getattr(original, attribute, None))
    return tripwire


def install() -> int:
    """Replace every loaded reference to a choke point by its tripwire; returns how many."""
    wrappers: dict[int, Callable] = {}
    for module_name, attribute, used in _CHOKE_POINTS:
        try:
            original = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError):  # another TF/Keras version: that route does not exist
            continue
        wrappers.setdefault(id(original), _wrap(original, used))
    replaced = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith(_SCANNED_PREFIXES) or module is None:
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for key, value in list(namespace.items()):
            wrapper = wrappers.get(id(value))
            if wrapper is not None:
                namespace[key] = wrapper
                replaced += 1
    return replaced


def activate(exempt: list[Callable]) -> None:
    """Start recording; calls made from inside the `exempt` functions do not count."""
    plain = [getattr(f, "python_function", f) for f in exempt]  # unwrap @tf.function
    _State.exempt_codes = frozenset(f.__code__ for f in plain if hasattr(f, "__code__"))
    _State.exempt_names = frozenset("tf__" + f.__name__ for f in plain if hasattr(f, "__name__"))
    _State.hits = []
    _State.active = True


def deactivate() -> list[str]:
    """Stop recording and return the forbidden built-ins that were reached."""
    _State.active = False
    return list(_State.hits)
