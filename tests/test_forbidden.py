"""Static forbidden-built-in check: aliases resolved, comments and strings ignored."""

from __future__ import annotations

import pytest

from grader.checks.forbidden import find_violations, is_forbidden
from grader.extract import extract_file
from tests.helpers import write_notebook

FORBIDDEN_BODIES = [
    ("import tensorflow as tf", "return tf.nn.softmax(x)", "tf.nn.softmax"),
    ("import tensorflow as tf", "return tf.math.softmax(x, axis=-1)", "tf.math.softmax"),
    ("import tensorflow.compat.v1 as tf", "return tf.nn.softmax(x)", "tf.compat.v1.nn.softmax"),
    ("from tensorflow import nn", "return nn.softmax(x)", "tf.nn.softmax"),
    ("import tensorflow as tf\nnn = tf.nn", "return nn.softmax(x)", "tf.nn.softmax"),
    ("from tensorflow.nn import softmax as f", "return f(x)", "tf.nn.softmax"),
    ("from tensorflow import keras", "return keras.layers.Softmax()(x)", "tf.keras.layers.Softmax"),
    ("import keras", "return keras.ops.sigmoid(x)", "keras.ops.sigmoid"),
    ("import tensorflow as tf", "return tf.keras.losses.BinaryCrossentropy()(x, x)", "tf.keras.losses.BinaryCrossentropy"),
    ("import tensorflow as tf", "return tf.losses.categorical_crossentropy(x, x)", "tf.losses.categorical_crossentropy"),
    ("import tensorflow as tf", "return tf.nn.__dict__['softmax'](x)", "tf.nn.softmax"),
    ("import tensorflow as tf", "f = getattr(tf.nn, 'sigmoid')\n    return f(x)", "tf.nn.sigmoid"),
    ("", "from tensorflow.math import sigmoid\n    return sigmoid(x)", "tf.math.sigmoid"),
    ("import tensorflow as tf", "return tf.raw_ops.Softmax(logits=x)", "tf.raw_ops.Softmax"),
]
ALLOWED_BODIES = [
    ("import tensorflow as tf", "# tf.nn.softmax(x) is forbidden\n    '''not tf.nn.softmax'''\n    return tf.exp(x) / tf.reduce_sum(tf.exp(x))"),
    ("import tensorflow as tf", "return tf.nn.relu(x) + tf.math.log(x) + tf.reduce_logsumexp(x)"),
    ("import numpy as np", "return np.exp(x) / np.sum(np.exp(x))"),
    ("import tensorflow as tf", "softmax = 'tf.nn.softmax'\n    return x"),
]


def _violations(tmp_path, imports: str, body: str):
    cells = [imports, f"def softmax(x):\n    {body}", "print(tf.nn.softmax([1.0]))  # the notebook's own test cell"]
    file = extract_file(write_notebook(tmp_path / "nb.ipynb", cells), "nb.ipynb")
    return find_violations(file, file.definitions["softmax"], exempt=set())


@pytest.mark.parametrize("imports,body,name", FORBIDDEN_BODIES)
def test_forbidden_spellings_are_found(tmp_path, imports, body, name):
    violations = _violations(tmp_path, imports, body)
    assert [v.name for v in violations] == [name]
    assert violations[0].where.startswith("nb.ipynb, cell 2, line")


@pytest.mark.parametrize("imports,body", ALLOWED_BODIES)
def test_allowed_code_is_not_flagged(tmp_path, imports, body):
    assert _violations(tmp_path, imports, body) == []


def test_helpers_are_followed_but_other_graded_functions_are_not(tmp_path):
    cells = ["import tensorflow as tf", "def softmax(x):\n    return tf.nn.softmax(x)",
             "def _log(p):\n    return tf.math.log(p)\n\ndef _ce(p, y):\n    return tf.keras.losses.categorical_crossentropy(y, p)",
             "def softmax_ce(x, label):\n    s = softmax(x)\n    return _ce(x, label) + _log(s)"]
    file = extract_file(write_notebook(tmp_path / "nb.ipynb", cells), "nb.ipynb")
    violations = find_violations(file, file.definitions["softmax_ce"], exempt={"softmax"})
    assert [(v.name, v.via) for v in violations] == [("tf.keras.losses.categorical_crossentropy", "_ce")]


def test_the_last_module_level_binding_wins(tmp_path):
    cells = ["import tensorflow.compat.v1 as tf", "def softmax(x):\n    nn = None\n    return tf.nn.softmax(x)",
             "import tensorflow as tf"]
    file = extract_file(write_notebook(tmp_path / "nb.ipynb", cells), "nb.ipynb")
    assert [v.name for v in find_violations(file, file.definitions["softmax"], set())] == ["tf.nn.softmax"]


def test_locals_of_one_function_do_not_leak_into_module_aliases(tmp_path):
    cells = ["import tensorflow as tf\nimport scipy.special as sp", "def helper():\n    sp = tf.nn\n    return sp",
             "def softmax(x):\n    return sp.softmax(x)"]
    file = extract_file(write_notebook(tmp_path / "nb.ipynb", cells), "nb.ipynb")
    assert find_violations(file, file.definitions["softmax"], set()) == []


def test_name_normalisation():
    assert is_forbidden("tf_keras.activations.softmax")
    assert is_forbidden("tensorflow.compat.v2.math.sigmoid")
    assert not is_forbidden("tensorflow.nn.relu")
    assert not is_forbidden("scipy.special.softmax")  # only TF/Keras routes are forbidden by the homework
