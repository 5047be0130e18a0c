"""Part 1: correct variants in many styles get full marks; each bug costs its own target only."""

from __future__ import annotations

import pytest

from tests.helpers import assert_only_target_lost, CORRECT_PART1, IMPORTS, part1_full_marks, write_handin, write_notebook

FULL = 10.0

CORRECT_VARIANTS = {
    "softmax": [
        "def softmax(x):\n    e = np.exp(x - np.max(x, axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)",
        "def softmax(x):\n    return tf.exp(x - tf.reduce_logsumexp(x, axis=-1, keepdims=True))",
        "@tf.function\ndef softmax(x):\n    m = tf.reduce_max(x, -1, keepdims=True)\n    return tf.exp(x - m) / tf.reduce_sum(tf.exp(x - m), -1, keepdims=True)",
        "def softmax(p):\n    p = tf.cast(p, tf.float64)\n    e = tf.math.exp(p - tf.math.reduce_max(p, axis=len(p.shape) - 1, keepdims=True))\n"
        "    return (e / tf.math.reduce_sum(e, axis=len(p.shape) - 1, keepdims=True)).numpy()",
        "softmax = lambda x: tf.exp(x - tf.reduce_logsumexp(x, -1, keepdims=True))",
        "def softmax(x):\n    '''Do not use tf.nn.softmax here!'''\n    # prob = tf.nn.softmax(x)  -- forbidden, so:\n"
        "    x = tf.convert_to_tensor(x)\n    z = tf.exp(x - tf.reduce_max(x, axis=-1, keepdims=True))\n    return z / tf.reduce_sum(z, axis=-1, keepdims=True)",
    ],
    "sigmoid": [
        "def sigmoid(x):\n    return 1 / (1 + np.exp(-np.asarray(x)))",
        "def sigmoid(x):\n    return tf.math.reciprocal(1 + tf.exp(-x))",
        "def sigmoid(x):\n    x = tf.convert_to_tensor(x)\n    e = tf.exp(-tf.abs(x))\n    return tf.where(x >= 0, 1 / (1 + e), e / (1 + e))",
        "def sigmoid(x):\n    return 0.5 * (1 + tf.tanh(0.5 * x))",
        "class FakeTorchTensor:\n    __module__ = 'torch'\n    def __init__(self, a):\n        self.a = a\n"
        "    def detach(self):\n        return self\n    def cpu(self):\n        return self\n    def numpy(self):\n        return self.a\n\n"
        "def sigmoid(x):\n    return FakeTorchTensor(1 / (1 + np.exp(-np.asarray(x))))",
    ],
    "softmax_ce": [
        "def softmax_ce(x, label):\n    return -np.mean(np.sum(label * np.log(x), axis=1))",
        "def softmax_ce(x, label):\n    return tf.reduce_mean(-tf.reduce_sum(label * tf.math.log(x + 1e-12), axis=-1))",
        "def softmax_ce(p, y):\n    p = tf.clip_by_value(p, 1e-7, 1.0)\n    return tf.reduce_sum(-y * tf.math.log(p)) / p.shape[0]",
        "def softmax_ce(x, label):\n    return float(-np.sum(np.asarray(label) * np.log(np.asarray(x))) / len(label))",
        "def softmax_ce(x, label):\n    return tf.reshape(-tf.reduce_mean(tf.reduce_sum(label * tf.math.log(x), -1)), [1])",
        "def softmax_ce(x, label):\n    return np.float32(-np.mean(np.sum(label * np.log(x), axis=-1)))",
    ],
    "sigmoid_ce": [
        "def sigmoid_ce(x, label):\n    x = np.asarray(x)\n    return -np.mean(label * np.log(x + 1e-8) + (1 - label) * np.log(1 - x + 1e-8))",
        "def sigmoid_ce(x, label):\n    x = tf.clip_by_value(x, 1e-7, 1 - 1e-7)\n"
        "    return tf.reduce_mean(-label * tf.math.log(x) - (1 - label) * tf.math.log(1 - x))",
        "def sigmoid_ce(x, label):\n    terms = label * tf.math.log(x) + (1 - label) * tf.math.log(1 - x)\n"
        "    return -tf.reduce_sum(terms) / tf.cast(tf.size(x), terms.dtype)",
        "def sigmoid_ce(x, label):\n    return -tf.reduce_mean(tf.where(label > 0.5, tf.math.log(x), tf.math.log(1 - x)))",
        "def sigmoid_ce(x, label):\n    terms = label * np.log(x) + (1 - label) * np.log(1 - x)\n    return -np.sum(terms) / np.size(x)",
    ],
}

# (target, source, checks that must fail, fragment of the hint one of them gives)
BUGGY_VARIANTS = [
    ("softmax", "def softmax(x):\n    x = tf.convert_to_tensor(x)\n    rmax = tf.reduce_max(x, axis=1, keepdims=True)\n"
     "    e = tf.exp(x - rmax)\n    return e / tf.reduce_sum(e, axis=-1, keepdims=True)", {"softmax.last_axis"}, "max taken over axis 1"),
    ("softmax", "def softmax(x):\n    e = tf.exp(x - tf.reduce_max(x, axis=-1, keepdims=True))\n    return e / tf.reduce_sum(e, axis=1, keepdims=True)",
     {"softmax.last_axis"}, "axis 1"),
    ("softmax", "def softmax(x):\n    e = tf.exp(x - tf.reduce_max(x, axis=0, keepdims=True))\n    return e / tf.reduce_sum(e, axis=0, keepdims=True)",
     {"softmax.matches_tf"}, "axis 0"),
    ("softmax", "def softmax(x):\n    e = tf.exp(x)\n    return e / tf.reduce_sum(e, axis=-1, keepdims=True)", {"softmax.large_logits"}, "subtract the max"),
    ("softmax", "def softmax(x):\n    e = tf.exp(x - tf.reduce_max(x))\n    return e / tf.reduce_sum(e)", {"softmax.matches_tf"}, "all elements"),
    ("softmax", "def softmax(x):\n    e = tf.exp(x - tf.reduce_max(x, axis=-1, keepdims=True))\n    return e / tf.reduce_sum(e, axis=-1)",
     {"softmax.matches_tf"}, "keepdims"),
    ("softmax", "def softmax(x):\n    return tf.exp(x)", {"softmax.matches_tf"}, "without dividing"),
    ("softmax", "def softmax(x):\n    return tf.nn.softmax(x, axis=-1)", {"softmax.no_builtin"}, "tf.exp"),
    ("softmax", "from tensorflow.nn import softmax as sm\ndef softmax(x):\n    return sm(x)", {"softmax.no_builtin"}, None),
    ("softmax", "def softmax(x):\n    return tf.keras.activations.softmax(tf.convert_to_tensor(x))", {"softmax.no_builtin"}, None),
    ("softmax", "def softmax(x):\n    return getattr(tf.nn, 'soft' + 'max')(x)", {"softmax.no_builtin"}, None),
    ("softmax", "def softmax(x):\n    return tf.raw_ops.Softmax(logits=tf.convert_to_tensor(x))", {"softmax.no_builtin"}, None),
    ("sigmoid", "def sigmoid(x):\n    return 1 / (1 + tf.exp(x))", {"sigmoid.matches_tf", "sigmoid.any_shape"}, "sign error"),
    ("sigmoid", "def sigmoid(x):\n    return tf.exp(x) / (1 + tf.exp(x))", {"sigmoid.large_logits"}, "overflows"),
    ("sigmoid", "def sigmoid(x):\n    return tf.sigmoid(x)", {"sigmoid.no_builtin"}, None),
    ("sigmoid", "import tensorflow.compat.v1 as tf1\ndef sigmoid(x):\n    return tf1.nn.sigmoid(x)", {"sigmoid.no_builtin"}, None),
    ("sigmoid", "def sigmoid(x):\n    f = getattr(tf.math, ''.join(['sig', 'moid']))\n    return f(x)", {"sigmoid.no_builtin"}, None),
    ("sigmoid", "def sigmoid(x):\n    return tf.reshape(1 / (1 + tf.exp(-x)), [-1])", {"sigmoid.matches_tf", "sigmoid.any_shape"}, None),
    ("sigmoid", "def sigmoid(x):\n    return None", {"sigmoid.matches_tf", "sigmoid.no_builtin"}, None),
    ("softmax_ce", "def softmax_ce(x, label):\n    p = tf.exp(x) / tf.reduce_sum(tf.exp(x), -1, keepdims=True)\n"
     "    return tf.reduce_mean(-tf.reduce_sum(label * tf.math.log(p), -1))", {"softmax_ce.matches_tf"}, "applied twice"),
    ("softmax_ce", "def softmax_ce(x, label):\n    return tf.reduce_sum(-tf.reduce_sum(label * tf.math.log(x), -1))",
     {"softmax_ce.matches_tf"}, "sums the row losses"),
    ("softmax_ce", "def softmax_ce(x, label):\n    return -tf.reduce_sum(label * tf.math.log(x), -1)", {"softmax_ce.matches_tf"}, "one loss per row"),
    ("softmax_ce", "def softmax_ce(x, label):\n    return tf.reduce_mean(-label * tf.math.log(x))", {"softmax_ce.matches_tf"}, "averages over the classes"),
    ("softmax_ce", "def softmax_ce(x, label):\n    return tf.reduce_mean(tf.reduce_sum(label * tf.math.log(x), -1))", {"softmax_ce.matches_tf"}, "sign error"),
    ("softmax_ce", "def softmax_ce(x, label):\n    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(label, tf.math.log(x)))",
     {"softmax_ce.no_builtin"}, None),
    ("softmax_ce", "def softmax_ce(x, label):\n    return tf.reduce_mean(tf.keras.losses.categorical_crossentropy(label, x))",
     {"softmax_ce.no_builtin"}, None),
    ("sigmoid_ce", "def sigmoid_ce(x, label):\n    p = 1 / (1 + tf.exp(-x))\n"
     "    return -tf.reduce_mean(label * tf.math.log(p) + (1 - label) * tf.math.log(1 - p))", {"sigmoid_ce.matches_tf"}, "applied again"),
    ("sigmoid_ce", "def sigmoid_ce(x, label):\n    return tf.reduce_mean(-label * tf.math.log(x))", {"sigmoid_ce.matches_tf"}, "(1 - label)"),
    ("sigmoid_ce", "def sigmoid_ce(x, label):\n    return -tf.reduce_sum(label * tf.math.log(x) + (1 - label) * tf.math.log(1 - x))",
     {"sigmoid_ce.matches_tf"}, "sums the losses"),
    ("sigmoid_ce", "def sigmoid_ce(x, label):\n    return -(label * tf.math.log(x) + (1 - label) * tf.math.log(1 - x))",
     {"sigmoid_ce.matches_tf"}, "one loss per element"),
    ("sigmoid_ce", "def sigmoid_ce(x, label):\n    return tf.reduce_mean(label * tf.math.log(x) + (1 - label) * tf.math.log(1 - x))",
     {"sigmoid_ce.matches_tf"}, "sign error"),
    ("sigmoid_ce", "def sigmoid_ce(x, label):\n    return tf.reduce_mean(tf.keras.losses.binary_crossentropy(label, x))", {"sigmoid_ce.no_builtin"}, None),
    ("sigmoid_ce", "def sigmoid_ce(x, label):\n    return -tf.reduce_mean(label * tf.math.log(x) + (1 - label) * tf.math.log(1 - x), axis=-1)",
     {"sigmoid_ce.other_shapes"}, "one loss per row"),
    ("sigmoid_ce", "from tensorflow.nn import sigmoid_cross_entropy_with_logits as sce\ndef sigmoid_ce(x, label):\n"
     "    return tf.reduce_mean(sce(label, tf.math.log(x) - tf.math.log(1 - x)))", {"sigmoid_ce.no_builtin"}, None),
]



@pytest.mark.parametrize("target,source", [(t, s) for t, sources in CORRECT_VARIANTS.items() for s in sources],
                         ids=[f"{t}-{i}" for t, sources in CORRECT_VARIANTS.items() for i in range(len(sources))])
def test_correct_variant_gets_full_marks(grade, tmp_path, target, source):
    checks, result = grade(write_handin(tmp_path, **{target: source}))
    failed = {c.id: c.message for c in checks.values() if not c.passed}
    assert not failed
    assert result.score == result.max_score


@pytest.mark.parametrize("target,source,failing,hint", BUGGY_VARIANTS,
                         ids=[f"{v[0]}-{i}" for i, v in enumerate(BUGGY_VARIANTS)])
def test_buggy_variant_loses_points_on_its_own_target_only(grade, tmp_path, target, source, failing, hint):
    checks, result = grade(write_handin(tmp_path, **{target: source}))
    assert_only_target_lost(result, target)
    for check_id in failing:
        assert not checks[check_id].passed, f"{check_id} passed"
    if hint:
        hints = " ".join(checks[c].hint or "" for c in failing)
        assert hint in hints, hints
    if failing == {f"{target}.no_builtin"}:  # forbidden but correct: only that check is lost
        assert [c.id for c in checks.values() if not c.passed] == [f"{target}.no_builtin"]


def test_student_may_use_own_softmax_inside_softmax_ce(grade, tmp_path):
    source = ("def softmax_ce(x, label):\n    probs = softmax(tf.math.log(x))  # softmax(log p) == p\n"
              "    return tf.reduce_mean(-tf.reduce_sum(label * tf.math.log(probs), axis=-1))")
    checks, result = grade(write_handin(tmp_path, softmax_ce=source))
    assert result.score == result.max_score


def test_forbidden_softmax_counts_against_softmax_only_even_when_softmax_ce_calls_it(grade, tmp_path):
    softmax = "def softmax(x):\n    return tf.nn.softmax(x)"
    softmax_ce = ("def softmax_ce(x, label):\n    probs = softmax(tf.math.log(x))\n"
                  "    return tf.reduce_mean(-tf.reduce_sum(label * tf.math.log(probs), axis=-1))")
    checks, result = grade(write_handin(tmp_path, softmax=softmax, softmax_ce=softmax_ce))
    assert not checks["softmax.no_builtin"].passed
    assert checks["softmax_ce.no_builtin"].passed


def test_forbidden_use_through_a_helper_is_found(grade, tmp_path):
    cells = [IMPORTS, "def _activation(z):\n    return tf.math.sigmoid(z)",
             "def sigmoid(x):\n    # tf.nn.sigmoid is not allowed\n    return _activation(x)",
             CORRECT_PART1["softmax"], CORRECT_PART1["softmax_ce"], CORRECT_PART1["sigmoid_ce"],
             "x = np.random.normal(size=[10, 5])\nprint(sigmoid(x) - tf.nn.sigmoid(x))"]
    write_notebook(tmp_path / "hw.ipynb", cells)
    checks, _ = grade(tmp_path)
    message = checks["sigmoid.no_builtin"].message
    assert "tf.math.sigmoid" in message and "helper `_activation`" in message and "cell 2" in message


def test_notebook_test_cells_and_comments_do_not_count(grade, tmp_path):
    cells = [IMPORTS, CORRECT_PART1["softmax"], "(softmax(x).numpy() - tf.nn.softmax(x).numpy())**2 < 0.0001",
             CORRECT_PART1["sigmoid"], CORRECT_PART1["softmax_ce"], CORRECT_PART1["sigmoid_ce"]]
    write_notebook(tmp_path / "hw.ipynb", cells)
    _, result = grade(tmp_path)
    assert part1_full_marks(result)


def test_messages_name_shape_dtype_and_worst_element(grade, tmp_path):
    checks, _ = grade(write_handin(tmp_path, sigmoid="def sigmoid(x):\n    return tf.reshape(1 / (1 + tf.exp(-x)), [-1])"))
    message = checks["sigmoid.matches_tf"].message
    assert "expected shape (10, 5) float64, got shape (50,) float64" in message
    checks, _ = grade(write_handin(tmp_path, softmax="def softmax(x):\n    return tf.exp(x) / 2"))
    message = checks["softmax.matches_tf"].message
    assert "worst element at [" in message and "expected" in message and "got" in message


def test_error_message_points_at_the_student_line(grade, tmp_path):
    checks, _ = grade(write_handin(tmp_path, sigmoid="def sigmoid(x):\n    y = x.nonexistent\n    return y"))
    message = checks["sigmoid.matches_tf"].message
    assert "AttributeError at tf2.0-exercise.ipynb, cell 3, line 2 (`y = x.nonexistent`)" in message


def test_missing_function_costs_its_target_and_says_where_it_looked(grade, tmp_path):
    write_notebook(tmp_path / "hw.ipynb", [IMPORTS, CORRECT_PART1["softmax"], CORRECT_PART1["softmax_ce"], CORRECT_PART1["sigmoid_ce"]])
    checks, result = grade(tmp_path)
    assert result.per_target()["sigmoid"] == (0.0, FULL)
    assert "searched: hw.ipynb" in checks["sigmoid.matches_tf"].message
    assert result.per_target()["softmax"] == (FULL, FULL)


def test_seed_student_loses_the_softmax_generality_points(grade):
    from tests.conftest import REPO

    checks, result = grade(REPO / "submissions" / "seed_student")
    assert not checks["softmax.last_axis"].passed
    assert "axis 1" in checks["softmax.last_axis"].hint
    totals = result.per_target()
    assert totals.pop("softmax") == (FULL - 3, FULL)
    assert all(score == maximum for score, maximum in totals.values()), totals


def test_grading_is_deterministic(grade, tmp_path):
    folder = write_handin(tmp_path, softmax="def softmax(x):\n    e = tf.exp(x)\n    return e / tf.reduce_sum(e, -1, keepdims=True)")
    first = grade(folder)[1].to_dict()
    second = grade(folder)[1].to_dict()
    first.pop("duration_s"), second.pop("duration_s")
    assert first == second


def test_instructor_solutions_get_full_marks(grade):
    from tests.conftest import REPO

    _, result = grade(REPO / "reference")
    assert result.score == result.max_score


FLOAT32_CASTS = {
    "softmax": "def softmax(x):\n    x = tf.convert_to_tensor(x, dtype=tf.float32)\n"
               "    e = tf.exp(x - tf.reduce_max(x, axis=-1, keepdims=True))\n    return e / tf.reduce_sum(e, axis=-1, keepdims=True)",
    "sigmoid": "def sigmoid(x):\n    x = tf.convert_to_tensor(x, dtype=tf.float32)\n    return 1 / (1 + tf.exp(-x))",
}


@pytest.mark.parametrize("target", sorted(FLOAT32_CASTS))
def test_float32_cast_loses_only_the_input_kinds_point_with_a_dtype_hint(grade, tmp_path, target):
    """Correct on every input the homework passes; raises on the float64 tf.Tensor it never passes."""
    checks, result = grade(write_handin(tmp_path, **{target: FLOAT32_CASTS[target]}))
    assert [c.id for c in checks.values() if not c.passed] == [f"{target}.input_kinds"]
    kinds = checks[f"{target}.input_kinds"]
    assert kinds.max_score == 1 and "10x5 float64 tensor" in kinds.message
    assert "tf.cast(x, tf.float32)" in kinds.hint and "float64 tf.Tensor" in kinds.hint
    assert result.per_target()[target] == (FULL - 1, FULL)


def test_numpy_methods_fail_only_on_tensors_and_cost_one_point(grade, tmp_path):
    """`x.max(...)` works on the ndarrays the homework passes, not on tensors: the input_kinds check only."""
    source = "def softmax(x):\n    e = np.exp(x - x.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)"
    checks, result = grade(write_handin(tmp_path, softmax=source))
    assert [c.id for c in checks.values() if not c.passed] == ["softmax.input_kinds"]
    assert "tf.Tensor" in checks["softmax.input_kinds"].hint
    assert result.per_target()["softmax"] == (FULL - 1, FULL)


def test_points_per_part1_target_stay_ten(grade, tmp_path):
    _, result = grade(write_handin(tmp_path))
    assert {t: result.per_target()[t] for t in CORRECT_PART1} == {t: (FULL, FULL) for t in CORRECT_PART1}


def test_row_averaging_sigmoid_ce_loses_other_shapes(grade, tmp_path):
    """reduce_sum / len(x) is the mean only on 1-D input: TF's element-wise loss averages every element."""
    source = ("def sigmoid_ce(x, label):\n    terms = label * tf.math.log(x) + (1 - label) * tf.math.log(1 - x)\n"
              "    return -tf.reduce_sum(terms) / len(x)")
    checks, result = grade(write_handin(tmp_path, sigmoid_ce=source))
    assert [c.id for c in checks.values() if not c.passed] == ["sigmoid_ce.other_shapes"]
    assert "on 4x6 float64 ndarray input" in checks["sigmoid_ce.other_shapes"].message
    assert "len(x)" in checks["sigmoid_ce.other_shapes"].hint
    assert_only_target_lost(result, "sigmoid_ce")
