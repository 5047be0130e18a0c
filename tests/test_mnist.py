"""MNIST sanity checks: correct models in many styles train; broken ones lose their points."""

from __future__ import annotations

import pytest

from grader.targets import TARGETS
from tests.conftest import REPO, TRAINING_TARGETS
from tests.helpers import NOTEBOOKS, part1_cells, reference_cells, write_handin, write_notebook
from tests.mnist_variants import (NUMPY_BUGGY, NUMPY_CORRECT, NUMPY_FULL_BATCH_KEYWORD_RATE, NUMPY_MINIBATCH_ASCENT,
                                  NUMPY_MINIBATCHES, TF_BUGGY, TF_CORRECT)

CORRECT = [("mnist_numpy", name, edits) for name, edits in NUMPY_CORRECT.items()] + \
          [("mnist_tf", name, edits) for name, edits in TF_CORRECT.items()]
BUGGY = [("mnist_numpy", name, *spec) for name, spec in NUMPY_BUGGY.items()] + \
        [("mnist_tf", name, *spec) for name, spec in TF_BUGGY.items()]


@pytest.mark.parametrize("target,name,edits", CORRECT, ids=[f"{t}-{n}" for t, n, _ in CORRECT])
def test_correct_model_gets_full_marks(grade, tmp_path, target, name, edits):
    checks, result = grade(write_handin(tmp_path, edits=edits), targets={target})
    assert [c.message for c in checks.values() if not c.passed] == []
    assert result.per_target()[target] == (6.0, 6.0)


@pytest.mark.parametrize("target,name,edits,failing,fragment", BUGGY, ids=[f"{t}-{n}" for t, n, *_ in BUGGY])
def test_broken_model_loses_points(grade, tmp_path, target, name, edits, failing, fragment):
    checks, result = grade(write_handin(tmp_path, edits=edits), targets=TRAINING_TARGETS)
    for check_id in failing:
        assert not checks[check_id].passed, check_id
    text = " ".join(f"{checks[c].message} {checks[c].hint}" for c in failing)
    assert fragment in text, text
    other = (TRAINING_TARGETS - {target}).pop()
    assert result.per_target()[other] == (6.0, 6.0), f"{other} lost points because of a bug in {target}"


def test_seed_student_part3_is_not_a_tf_model(grade):
    checks, result = grade(REPO / "submissions" / "seed_student", targets=TRAINING_TARGETS)
    assert "is not a TF model returning logits" in checks["mnist_tf.logits"].message
    assert result.per_target()["mnist_tf"] == (0.0, 6.0)
    assert result.per_target()["mnist_numpy"] == (6.0, 6.0)


def test_training_checks_carry_their_curves(grade, tmp_path):
    checks, _ = grade(write_handin(tmp_path), targets=TRAINING_TARGETS)
    curve = checks["mnist_tf.trains"].details["curve"]
    stopped = checks["mnist_tf.trains"].details["stopped_at"]  # the steps run: it passed, so it stopped early
    assert stopped < 100 and f"passed at step {stopped} of 100" in checks["mnist_tf.trains"].message
    assert len(curve["loss"]) == len(curve["accuracy"]) == stopped and curve["loss"][-1] < curve["loss"][0]
    assert checks["mnist_numpy.trains"].details["held_out_accuracy"] >= checks["mnist_numpy.trains"].details["threshold"]
    assert len(checks["mnist_numpy.train_one_step"].details["curve"]["loss"]) == 5


def test_mnist_option_reads_a_keras_format_file(tmp_path):
    import numpy as np

    from grader.mnist import load_sample

    shipped = load_sample()
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.concatenate([shipped.x_train] * 2), y_train=np.concatenate([shipped.y_train] * 2),
             x_test=shipped.x_test, y_test=shipped.y_test)
    sample = load_sample(path)
    assert sample.x_train.shape == (2000, 28, 28) and np.bincount(sample.y_train).tolist() == [200] * 10
    assert sample.source == str(path)


@pytest.mark.parametrize("order", [("numpy", "tf"), ("tf", "numpy")])
def test_all_parts_merged_into_one_notebook(grade, tmp_path, order):
    """Both parts define myModel, train_one_step and test: each model is graded with its own part."""
    cells = part1_cells() + [cell for key in order for cell in reference_cells(NOTEBOOKS[key])]
    write_notebook(tmp_path / "homework_all_parts.ipynb", cells)
    checks, result = grade(tmp_path, targets=set(TARGETS) - {"function_fitting"})
    assert [c.message for c in checks.values() if not c.passed and c.max_score] == []
    assert result.score == result.max_score == 68


def test_model_built_from_keras_layers(grade, tmp_path):
    """Variables inside Keras layers (not tf.Module in Keras 3) are found and trained."""
    model = ("class myModel:\n    def __init__(self):\n        self.flatten = layers.Flatten()\n"
             "        self.hidden = layers.Dense(100, activation='relu')\n        self.out = layers.Dense(10)\n\n"
             "    def __call__(self, x):\n        return self.out(self.hidden(self.flatten(x)))")
    given_model = next(cell for cell in reference_cells(NOTEBOOKS["tf"]) if cell.startswith("class myModel"))
    edits = (("tf", given_model, model),
             ("tf", "trainable_vars = [model.W1, model.W2, model.b1, model.b2]",
              "trainable_vars = model.hidden.trainable_variables + model.out.trainable_variables"))
    checks, result = grade(write_handin(tmp_path, edits=edits), targets={"mnist_tf"})
    assert "4 trainable tf.Variables found" in checks["mnist_tf.logits"].message
    assert result.per_target()["mnist_tf"] == (6.0, 6.0), [c.message for c in checks.values() if not c.passed]


@pytest.mark.parametrize("name,first_loss", [("large_init_wide_256", 100), ("large_init_three_layers", 1000)])
def test_large_init_model_trains_the_notebooks_way(grade, tmp_path, name, first_loss):
    """Weights drawn at std 1 start with a loss in the hundreds or thousands; the notebook's Adam trains them."""
    checks, result = grade(write_handin(tmp_path, edits=TF_CORRECT[name]), targets={"mnist_tf"})
    trains = checks["mnist_tf.trains"]
    assert trains.details["curve"]["loss"][0] > first_loss
    assert trains.passed and "optimizers.Adam()" in trains.message, trains.message
    assert result.per_target()["mnist_tf"] == (6.0, 6.0)


def test_model_returning_probabilities_fails_trains_too(grade, tmp_path):
    """Adam ranks the classes even through a softmax; the notebook's loss on probabilities stays above 1.46."""
    checks, _ = grade(write_handin(tmp_path, edits=TF_BUGGY["returns_probabilities"][0]), targets={"mnist_tf"})
    assert not checks["mnist_tf.trains"].passed and "log(1 + 9/e)" in checks["mnist_tf.trains"].hint


def test_minibatch_loop_with_its_own_rate_is_run_its_way(grade, tmp_path):
    """Its rate diverges on the full batch; run on minibatches of 64, as its loop does, it learns."""
    checks, result = grade(write_handin(tmp_path, edits=NUMPY_MINIBATCHES), targets={"mnist_numpy"})
    step = checks["mnist_numpy.train_one_step"]
    assert step.passed, step.message
    assert "train_one_step(model, x, y) on minibatches of 64 images" in step.message
    assert step.details["loop"]["batch"] == 64
    assert result.per_target()["mnist_numpy"] == (6.0, 6.0)


def test_a_rate_the_loop_passes_is_passed_too(grade, tmp_path):
    """The notebook's full-batch loop passing lr=1e-2 to a step whose default is 1e-5: run as called, it diverges."""
    checks, _ = grade(write_handin(tmp_path, edits=NUMPY_FULL_BATCH_KEYWORD_RATE), targets={"mnist_numpy"})
    step = checks["mnist_numpy.train_one_step"]
    assert not step.passed and "as your loop calls it" in step.message and "lr=0.01" in step.message


def test_minibatch_loop_still_catches_gradient_ascent(grade, tmp_path):
    checks, _ = grade(write_handin(tmp_path, edits=NUMPY_MINIBATCH_ASCENT), targets={"mnist_numpy"})
    step = checks["mnist_numpy.train_one_step"]
    assert not step.passed and "minibatches of 64" in step.message and "goes up" in step.hint


def test_tf_step_uses_the_optimizer_the_students_loop_builds(grade, tmp_path):
    edits = (("tf", "optimizer = optimizers.Adam()", "optimizer = optimizers.Adam(learning_rate=0.01)"),
             ("tf", "    for g, v in zip(grads, trainable_vars):\n        v.assign_sub(0.01*g)",
              "    optimizer.apply_gradients(zip(grads, trainable_vars))"))
    checks, result = grade(write_handin(tmp_path, edits=edits), targets={"mnist_tf"})
    step = checks["mnist_tf.train_one_step"]
    assert step.passed and "with your loop's optimizers.Adam(learning_rate=0.01)" in step.message, step.message
    assert result.per_target()["mnist_tf"] == (6.0, 6.0)


def test_tf_minibatches_from_a_dataset_are_run_that_way(grade, tmp_path):
    loop = ("train_data, test_data = mnist_dataset()\nfor epoch in range(50):\n"
            "    loss, accuracy = train_one_step(model, optimizer,\n"
            "                                    tf.constant(train_data[0], dtype=tf.float32),\n"
            "                                    tf.constant(train_data[1], dtype=tf.int64))")
    minibatches = ("train_data, test_data = mnist_dataset()\n"
                   "dataset = tf.data.Dataset.from_tensor_slices((train_data[0], train_data[1])).shuffle(60000).batch(100)\n"
                   "for epoch in range(5):\n    for x, y in dataset:\n"
                   "        loss, accuracy = train_one_step(model, optimizer, tf.cast(x, tf.float32), y)")
    checks, result = grade(write_handin(tmp_path, edits=(("tf", loop, minibatches),)), targets={"mnist_tf"})
    step = checks["mnist_tf.train_one_step"]
    assert step.passed and "on minibatches of 100 images" in step.message and "20 steps" in step.message, step.message
    assert result.per_target()["mnist_tf"] == (6.0, 6.0)
