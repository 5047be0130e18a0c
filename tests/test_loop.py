"""The student's own training loop, read from its syntax tree (grader/checks/loop.py)."""

from __future__ import annotations

from grader.checks.loop import StudentLoop, student_loop
from grader.extract import extract_file
from tests.helpers import write_notebook

NUMPY_STEP = "def train_one_step(model, x, y, lr=1e-5):\n    return 0.0, 0.0"
TF_STEP = "def train_one_step(model, optimizer, x, y):\n    return 0.0, 0.0"


def loop_of(tmp_path, cells: list[str], kind: str) -> StudentLoop:
    path = write_notebook(tmp_path / "hw.ipynb", cells)
    return student_loop(extract_file(path, path.name), kind)


def test_the_notebooks_full_batch_loop_is_the_notebooks_way(tmp_path):
    loop = loop_of(tmp_path, [NUMPY_STEP, "for epoch in range(50):\n    loss, accuracy = train_one_step(model, x, y)"],
                   "numpy")
    assert loop == StudentLoop(where="hw.ipynb, cell 2") and not loop.own


def test_minibatches_and_a_keyword_rate_are_read(tmp_path):
    cells = [NUMPY_STEP, "batch_size = 128\nfor epoch in range(3):\n    for i in range(0, n, batch_size):\n"
                         "        train_one_step(model, x[i:i + batch_size], y[i:i + batch_size], lr=0.2)"]
    loop = loop_of(tmp_path, cells, "numpy")
    assert (loop.batch, loop.keywords, loop.own) == (128, {"lr": 0.2}, True)
    assert loop.call_text("model, x, y") == "model, x, y, lr=0.2"


def test_a_batch_size_outside_any_loop_around_the_call_is_not_a_minibatch(tmp_path):
    loop = loop_of(tmp_path, [NUMPY_STEP, "batch_size = 128\ntrain_one_step(model, x, y)"], "numpy")
    assert loop.batch is None


def test_a_calls_arguments_that_are_not_literal_numbers_keep_the_defaults(tmp_path):
    loop = loop_of(tmp_path, [NUMPY_STEP, "for e in range(5):\n    train_one_step(model, x, y, lr=rate, momentum=0.9)"],
                   "numpy")
    assert loop.keywords == {"momentum": 0.9} and loop.extra_args == ()


def test_the_tf_loops_optimizer_is_read_unless_it_is_the_notebooks(tmp_path):
    call = "for epoch in range(50):\n    train_one_step(model, optimizer, tf.constant(x), tf.constant(y))"
    own = loop_of(tmp_path, [TF_STEP, "optimizer = optimizers.SGD(0.05, momentum=0.9)", call], "tf")
    assert own.optimizer_text() == "optimizers.SGD(0.05, momentum=0.9)"
    keras2 = loop_of(tmp_path, [TF_STEP, "optimizer = tf.keras.optimizers.Adam(lr=0.01)", call], "tf")
    assert keras2.optimizer == {"name": "Adam", "args": [], "kwargs": {"learning_rate": 0.01}}
    given = loop_of(tmp_path, [TF_STEP, "optimizer = optimizers.Adam()", call], "tf")
    assert given.optimizer is None and not given.own


def test_in_a_merged_notebook_each_part_reads_its_own_call(tmp_path):
    cells = [NUMPY_STEP, "batch_size = 32\nfor i in range(0, n, batch_size):\n    train_one_step(model, xb, yb)",
             TF_STEP, "optimizer = optimizers.Adam(0.01)\nfor e in range(50):\n"
                      "    train_one_step(model, optimizer, tf.constant(x), tf.constant(y))"]
    assert loop_of(tmp_path, cells, "numpy").batch == 32
    tf_loop = loop_of(tmp_path, cells, "tf")
    assert tf_loop.batch is None and tf_loop.optimizer_text() == "optimizers.Adam(0.01)"
