"""Probes for the MNIST sanity checks: train the student's model under the grader's protocol.

`protocol` builds a seeded `myModel()`, records its output on held-out images, trains it with
the homework's own update rule (numpy: the notebook's SGD; TF: the notebook's Adam) for a fixed
number of full-batch steps and returns raw outputs (first and last training outputs, held-out
outputs), so the parent computes losses and accuracies itself. Every `stop["every"]` steps it
measures the same conditions the parent will, with margins, and stops once all hold: the run has
passed, more steps would only cost time; it says where (`stopped_at`), and the parent judges the
outputs it gets as always. A run that does not pass runs every step.
`student_step` runs the student's own `train_one_step` and `test`, to see that they run and
move the loss the right way. Labels of held-out images are sent to the protocol only inside `stop`.
"""

from __future__ import annotations

import types
from typing import Any, Callable

import numpy as np

from grader.probes.convert import describe_exception, to_array
from grader.i18n import _, tr
from grader.mnist import accuracy, cross_entropy, log_softmax, returns_probabilities


class Stage(Exception):
    """Student code failed at a named stage; the message is ready for the report."""


def _run(stage: str, where: dict[str, str], call: Callable[[], Any]) -> Any:
    try:
        return call()
    except BaseException as error:  # student code may raise anything
        raise Stage(tr("{stage} raised {error}", stage=stage, error=describe_exception(error, where))) from None


def _array(stage: str, value: Any) -> np.ndarray:
    array, problem = to_array(value)
    if problem:
        raise Stage(f"{stage} {problem}")
    return array.astype(np.float64)


def _expect_classes(stage: str, output: np.ndarray, rows: int) -> None:
    if output.shape != (rows, 10):
        raise Stage(tr("{stage} has shape {shape} for {rows} images; expected ({rows}, 10)", stage=stage,
                       shape=output.shape, rows=rows))


def _one_hot(labels: np.ndarray) -> np.ndarray:
    encoded = np.zeros((len(labels), 10))
    encoded[np.arange(len(labels)), labels] = 1.0
    return encoded


def _scalar_pair(stage: str, value: Any) -> list[float]:
    """(loss, accuracy) as two floats."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise Stage(tr("{stage} returned {kind}; expected the pair (loss, accuracy)", stage=stage,
                       kind=type(value).__name__))
    pair = []
    for item in value:
        array = _array(stage, item)
        if array.size != 1:
            raise Stage(tr("{stage} returned a {shape} array where a number was expected", stage=stage,
                           shape=array.shape))
        pair.append(float(array.reshape(-1)[0]))
    return pair


def _gradient_pairs(model: Any) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, parameter, gradient) for every array attribute P with a same-shaped P_grad."""
    attributes = vars(model)
    pairs = []
    for name in sorted(attributes):
        if name.endswith("_grad") and name[:-5] in attributes:
            parameter, gradient = attributes[name[:-5]], attributes[name]
            if isinstance(parameter, np.ndarray) and np.shape(gradient) == parameter.shape:
                pairs.append((name[:-5], parameter, np.asarray(gradient, dtype=np.float64)))
    return pairs


ACCEPT_TRAIN_ACCURACY = 0.3


def _trained(curve: dict[str, list[float]]) -> bool:
    """The run learnt: finite losses, the last below the first, training accuracy well above chance."""
    losses = curve["loss"]
    return (bool(losses) and all(np.isfinite(losses)) and losses[-1] < losses[0]
            and curve["accuracy"][-1] >= ACCEPT_TRAIN_ACCURACY)


def _settled(stop: dict, result: dict, labels: np.ndarray) -> bool:
    """Every pass condition of the parent's `trains` judgement holds on these outputs, with a margin."""
    to_log_probs = log_softmax if stop["logits"] else (lambda o: o)
    first = cross_entropy(to_log_probs(result["first_train"]), labels)
    last = cross_entropy(to_log_probs(result["last_train"]), labels)
    held_out = result["held_out"]
    return bool(np.isfinite(first) and np.isfinite(last) and 0 <= last <= first - stop["loss_drop"] * abs(first)
                and not (stop["logits"] and returns_probabilities(held_out))
                and accuracy(held_out, stop["y_test"]) >= stop["accuracy"] and _trained(result["curve"]))


def _stops_here(stop: dict | None, step: int, steps: int, measure: Callable[[], None], result: dict,
                labels: np.ndarray) -> bool:
    """After `step` updates: at a checkpoint, measure the run, and record the stop if it has passed."""
    if not (stop and step < steps and step % stop["every"] == 0):
        return False
    measure()
    if _settled(stop, result, labels):
        result["stopped_at"] = step
        return True
    return False


def _with_retries(train: Callable[[int, float], dict], attempts: list[list]) -> dict:
    """Train with each (seed, step size) in turn until the run learns, else report the best run.

    A correct model that diverges or gets stuck (an unlucky draw of a sensitive initialisation)
    learns with a smaller step or another seed; a broken model (gradient ascent, sign errors)
    fails every attempt. The order is fixed, so the result stays deterministic.
    """
    best = None
    for seed, lr in attempts:
        result = train(seed, lr)
        result.update(seed=seed, lr=lr)
        if "error" in result or _trained(result["curve"]):
            return result
        final = result["curve"]["accuracy"][-1] if result["curve"]["accuracy"] else -1.0
        if best is None or (np.isfinite(final) and final > best[0]):
            best = (final if np.isfinite(final) else -1.0, result)
    return best[1]


def numpy_protocol(namespace: dict, job: dict, call: dict) -> dict:
    where, stop = job["where"], call.get("stop")
    x, labels = call["x_train"] / 255.0, call["y_train"]
    y = _one_hot(labels)
    x_test = call["x_test"] / 255.0

    def train(seed: int, lr: float) -> dict:
        np.random.seed(seed)
        curve: dict[str, list[float]] = {"loss": [], "accuracy": []}
        result: dict[str, Any] = {"curve": curve}

        def measure() -> None:
            """The outputs the parent judges: on the training images and on the held-out ones."""
            _run("model.forward(x)", where, lambda: model.forward(x))
            result["last_train"] = _array("model.h2_log", getattr(model, "h2_log", None))
            _run("model.forward(x)", where, lambda: model.forward(x_test))
            result["held_out"] = _array("model.h2_log", getattr(model, "h2_log", None))

        try:
            model = _run("myModel()", where, namespace["myModel"])
            _run("model.forward(x)", where, lambda: model.forward(x_test))
            result["check_output"] = _array("model.h2_log", getattr(model, "h2_log", None))
            _expect_classes("model.h2_log", result["check_output"], len(x_test))
            for step in range(call["steps"]):
                _run("model.forward(x)", where, lambda: model.forward(x))
                log_probs = _array("model.h2_log", getattr(model, "h2_log", None))
                curve["loss"].append(float(np.mean(np.sum(-log_probs * y, axis=1))))
                curve["accuracy"].append(float(np.mean(np.argmax(log_probs, axis=1) == labels)))
                if step == 0:
                    result["first_train"] = log_probs
                _run("model.backward(label)", where, lambda: model.backward(y))
                pairs = _gradient_pairs(model)
                if not pairs:
                    raise Stage(_("model.backward(label) stored no gradient: expected attributes W1_grad, W2_grad "
                                  "with the shapes of W1, W2"))
                result["parameters"] = [name for name, _parameter, _gradient in pairs]
                for name, parameter, gradient in pairs:
                    setattr(model, name, parameter - lr * gradient)
                if _stops_here(stop, step + 1, call["steps"], measure, result, labels):
                    break
            else:
                measure()
        except Stage as stage:
            result["error"] = str(stage)
        except Exception as error:  # the grader's own arithmetic on an odd output
            result["error"] = tr("training stopped: {error}", error=type(error).__name__ + ": " + str(error))
        return result

    with np.errstate(all="ignore"):
        return _with_retries(train, call["attempts"])


MAX_MINIBATCH_STEPS = 64  # one pass over the training images, at most this many calls


def _student_step(namespace: dict, job: dict, call: dict, given: tuple, train: tuple, test: tuple,
                  signature: str) -> dict:
    """Run the student's own train_one_step on a fresh model the way their loop does, then their test.

    `given` are the arguments before x and y (the TF optimizer). Full batch (the notebook's loop):
    `call["steps"]` calls on every training image. Minibatches (`call["loop"]["batch"]`): one
    shuffled pass over the training images, with test() on them before and after. Literal numbers
    the loop passes (`lr=0.2`) are passed too.
    """
    where, loop = job["where"], call["loop"]
    extra, keywords = tuple(loop["extra_args"]), dict(loop["keywords"])
    result: dict[str, Any] = {"steps": []}
    try:
        for name in ("train_one_step", "test"):
            if not callable(namespace.get(name)):
                raise Stage(tr("`{name}` is not defined as a function in this file", name=name))
        model = _run("myModel()", where, namespace["myModel"])

        def step(x: Any, y: Any) -> None:
            returned = _run(f"train_one_step({signature})", where,
                            lambda: namespace["train_one_step"](model, *given, x, y, *extra, **keywords))
            result["steps"].append(_scalar_pair(f"train_one_step({signature})", returned))

        def run_test(x: Any, y: Any) -> list[float]:
            returned = _run("test(model, x, y)", where, lambda: namespace["test"](model, x, y))
            return _scalar_pair("test(model, x, y)", returned)

        if loop["batch"]:
            batch = loop["batch"]
            result["before"] = run_test(*train)
            for start in range(0, min(len(train[0]), batch * MAX_MINIBATCH_STEPS), batch):
                step(train[0][start:start + batch], train[1][start:start + batch])
            result["after"] = run_test(*train)
        else:
            for _ in range(call["steps"]):
                step(*train)
        result["test"] = run_test(*test)
    except Stage as stage:
        result["error"] = str(stage)
    return result


def _shuffled(call: dict) -> tuple[np.ndarray, np.ndarray]:
    """The training images and labels, shuffled (seeded) when the student's loop takes minibatches."""
    x, y = call["x_train"] / 255.0, call["y_train"]
    if call["loop"]["batch"]:
        order = np.random.default_rng(call["seed"]).permutation(len(y))
        x, y = x[order], y[order]
    return x, y


def numpy_student_step(namespace: dict, job: dict, call: dict) -> dict:
    np.random.seed(call["seed"])
    x, y = _shuffled(call)
    test = (call["x_test"] / 255.0, _one_hot(call["y_test"]))
    return _student_step(namespace, job, call, (), (x, _one_hot(y)), test, "model, x, y")


_NOT_CONTAINERS = (type, types.ModuleType, types.FunctionType, types.MethodType, types.BuiltinFunctionType)


def find_variables(model: Any) -> list:
    """Every trainable tf.Variable a model holds, found through attributes, lists and dicts."""
    import tensorflow as tf

    found: dict[int, Any] = {}

    def visit(value: Any, depth: int) -> None:
        if isinstance(value, tf.Variable):
            if value.trainable:
                found.setdefault(id(value), value)
        elif isinstance(value, tf.Module) or (hasattr(value, "trainable_variables") and not isinstance(value, type)):
            for variable in getattr(value, "trainable_variables", []):
                found.setdefault(id(variable), variable)
        elif depth < 4 and isinstance(value, dict):
            for item in value.values():
                visit(item, depth + 1)
        elif depth < 4 and isinstance(value, (list, tuple)):
            for item in value:
                visit(item, depth + 1)
        elif depth < 4 and hasattr(value, "__dict__") and not isinstance(value, _NOT_CONTAINERS):
            for item in vars(value).values():
                visit(item, depth + 1)

    visit(model, 0)
    return list(found.values())


def tf_protocol(namespace: dict, job: dict, call: dict) -> dict:
    import tensorflow as tf

    where, stop = job["where"], call.get("stop")
    x = tf.constant(call["x_train"] / 255.0, tf.float32)
    labels = call["y_train"]
    y = tf.constant(labels, tf.int64)
    x_test = tf.constant(call["x_test"] / 255.0, tf.float32)

    def train(seed: int, lr: float) -> dict:
        tf.random.set_seed(seed)
        np.random.seed(seed)
        curve: dict[str, list[float]] = {"loss": [], "accuracy": []}
        result: dict[str, Any] = {"curve": curve}

        def measure() -> None:
            """The outputs the parent judges: on the training images and on the held-out ones."""
            result["last_train"] = _array("model(x)", _run("model(x)", where, lambda: model(x)))
            result["held_out"] = _array("model(x)", _run("model(x)", where, lambda: model(x_test)))

        try:
            model = _run("myModel()", where, namespace["myModel"])
            result["check_output"] = _array("model(x)", _run("model(x)", where, lambda: model(x_test)))
            _expect_classes("model(x)", result["check_output"], len(call["x_test"]))
            variables = find_variables(model)
            result["variables"] = [f"{v.name} {tuple(v.shape)}" for v in variables]
            if not variables:
                raise Stage(_("myModel() holds no trainable tf.Variable (is it a numpy model?)"))
            update = _adam(lr, variables)  # the notebook's optimizers.Adam()
            for step in range(call["steps"]):
                with tf.GradientTape() as tape:
                    logits = _run("model(x)", where, lambda: model(x))
                    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
                gradients = tape.gradient(loss, variables)
                if all(g is None for g in gradients):
                    raise Stage(_("no gradient reaches the model's tf.Variables from model(x)"))
                outputs = _array("model(x)", logits)
                curve["loss"].append(float(loss.numpy()))
                curve["accuracy"].append(float(np.mean(np.argmax(outputs, axis=1) == labels)))
                if step == 0:
                    result["first_train"] = outputs
                update(gradients)
                if _stops_here(stop, step + 1, call["steps"], measure, result, labels):
                    break
            else:
                measure()
        except Stage as stage:
            result["error"] = str(stage)
        except Exception as error:  # the grader's own ops on an odd output
            result["error"] = tr("training stopped: {error}", error=type(error).__name__ + ": " + str(error)[:300])
        return result

    return _with_retries(train, call["attempts"])


def _adam(lr: float, variables: list) -> Callable[[list], None]:
    """Keras's Adam at `lr` over `variables`, its update compiled once as a graph: the same arithmetic,
    bit for bit, without Keras 3's eager overhead per step (as much CPU as the model's forward and
    backward pass on 2,000 images); eager where the graph cannot be built."""
    import tensorflow as tf

    optimizer = tf.keras.optimizers.Adam(learning_rate=lr)

    def apply(gradients: list) -> None:
        optimizer.apply_gradients([(g, v) for g, v in zip(gradients, variables) if g is not None])

    try:
        optimizer.build(variables)
        compiled = tf.function(apply)
    except Exception:  # odd variables: Keras builds its state on the first eager update instead
        return apply
    state = {"compiled": True}

    def update(gradients: list) -> None:
        if state["compiled"]:
            try:
                compiled(gradients)
                return
            except Exception:  # tracing failed (before any variable changed): eager from now on
                state["compiled"] = False
        apply(gradients)

    return update


def tf_student_step(namespace: dict, job: dict, call: dict) -> dict:
    import tensorflow as tf

    tf.random.set_seed(call["seed"])
    np.random.seed(call["seed"])
    x, y = _shuffled(call)
    train = (tf.constant(x, tf.float32), tf.constant(y, tf.int64))
    test = (tf.constant(call["x_test"] / 255.0, tf.float32), tf.constant(call["y_test"], tf.int64))
    return _student_step(namespace, job, call, (_optimizer(call["loop"]["optimizer"]),), train, test,
                         "model, optimizer, x, y")


def _optimizer(spec: dict | None) -> Any:
    """The optimizer the student's loop builds from literal numbers, else the notebook's optimizers.Adam()."""
    import tensorflow as tf

    if spec is not None:
        try:
            return getattr(tf.keras.optimizers, spec["name"])(*spec["args"], **spec["kwargs"])
        except (TypeError, ValueError, AttributeError):  # an argument this Keras does not take
            pass
    return tf.keras.optimizers.Adam()  # what the notebook passes; its own step may ignore it


def training_call(namespace: dict, job: dict, call: dict) -> dict:
    """Dispatch on the call's kind."""
    return {"numpy_protocol": numpy_protocol, "numpy_student_step": numpy_student_step,
            "tf_protocol": tf_protocol, "tf_student_step": tf_student_step}[call["kind"]](namespace, job, call)
