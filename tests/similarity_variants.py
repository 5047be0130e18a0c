"""Independent answers in many styles, classes drawn from them, and disguised copies.

Used by tests/test_similarity.py and reference/calibrate_similarity.py. Each target has answers
written independently (different libraries, idioms, structure); a class draws one per target
and student, the first, "textbook" answer more often, as real classes do. A disguised copy
renames every local name, reorders the Part 1 cells, rewrites comments and blank lines, renames
the notebook and adds an unused helper.
"""

from __future__ import annotations

import ast
import random
import re
from pathlib import Path

from tests.helpers import IMPORTS, reference_cells, write_notebook

PART1 = {
    "softmax": [
        "def softmax(x):\n    e = tf.exp(x - tf.reduce_max(x, axis=-1, keepdims=True))\n"
        "    return e / tf.reduce_sum(e, axis=-1, keepdims=True)",
        "def softmax(x):\n    x = np.asarray(x)\n    shifted = np.exp(x - np.max(x, axis=-1, keepdims=True))\n"
        "    return shifted / shifted.sum(axis=-1, keepdims=True)",
        "def softmax(x):\n    m = tf.reduce_max(x, -1)\n    e = tf.exp(x - tf.expand_dims(m, -1))\n"
        "    s = tf.reduce_sum(e, -1)\n    return e / tf.expand_dims(s, -1)",
        "def softmax(x):\n    flat = np.reshape(np.asarray(x, dtype=float), (-1, np.shape(x)[-1]))\n"
        "    out = np.empty_like(flat)\n    for i, row in enumerate(flat):\n        z = np.exp(row - row.max())\n"
        "        out[i] = z / z.sum()\n    return out.reshape(np.shape(x))",
        "def softmax(x):\n    top = tf.reduce_max(x, axis=-1, keepdims=True)\n"
        "    lse = top + tf.math.log(tf.reduce_sum(tf.exp(x - top), axis=-1, keepdims=True))\n    return tf.exp(x - lse)",
        "def softmax(logits):\n    logits = tf.convert_to_tensor(logits)\n"
        "    numerator = tf.math.exp(logits - tf.math.reduce_max(logits, axis=len(logits.shape) - 1, keepdims=True))\n"
        "    denominator = tf.math.reduce_sum(numerator, axis=len(logits.shape) - 1, keepdims=True)\n"
        "    return tf.math.divide(numerator, denominator)",
    ],
    "sigmoid": [
        "def sigmoid(x):\n    return 1 / (1 + tf.exp(-x))",
        "def sigmoid(x):\n    x = np.asarray(x, dtype=float)\n"
        "    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))",
        "def sigmoid(x):\n    return tf.math.reciprocal(1.0 + tf.math.exp(-tf.convert_to_tensor(x)))",
        "def sigmoid(x):\n    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x)))",
        "def sigmoid(z):\n    z = tf.convert_to_tensor(z)\n    positive = tf.exp(tf.minimum(z, 0.0))\n"
        "    return positive / (positive + tf.exp(tf.minimum(-z, 0.0)))",
    ],
    "softmax_ce": [
        "def softmax_ce(x, label):\n    return tf.reduce_mean(-tf.reduce_sum(label * tf.math.log(x), axis=-1))",
        "def softmax_ce(x, label):\n    return -np.mean(np.sum(np.asarray(label) * np.log(np.asarray(x) + 1e-8), axis=1))",
        "def softmax_ce(x, label):\n    x = tf.clip_by_value(x, 1e-12, 1.0)\n"
        "    per_row = -tf.reduce_sum(label * tf.math.log(x), axis=-1)\n    return tf.reduce_mean(per_row)",
        "def softmax_ce(x, label):\n    total = 0.0\n    for p, y in zip(np.asarray(x), np.asarray(label)):\n"
        "        total -= np.dot(y, np.log(p))\n    return total / len(np.asarray(x))",
        "def softmax_ce(probs, onehot):\n    picked = tf.reduce_sum(tf.cast(onehot, probs.dtype) * probs, axis=1)\n"
        "    return -tf.reduce_mean(tf.math.log(picked))",
    ],
    "sigmoid_ce": [
        "def sigmoid_ce(x, label):\n"
        "    return -tf.reduce_mean(label * tf.math.log(x) + (1 - label) * tf.math.log(1 - x))",
        "def sigmoid_ce(x, label):\n    eps = 1e-8\n    x, label = np.asarray(x), np.asarray(label)\n"
        "    return -np.mean(label * np.log(x + eps) + (1 - label) * np.log(1 - x + eps))",
        "def sigmoid_ce(x, label):\n    pos = label * tf.math.log(x)\n    neg = (1. - label) * tf.math.log(1. - x)\n"
        "    return -tf.reduce_mean(pos + neg)",
        "def sigmoid_ce(p, y):\n    losses = [-(t * np.log(q) + (1 - t) * np.log(1 - q)) for q, t in zip(np.ravel(p), np.ravel(y))]\n"
        "    return sum(losses) / len(losses)",
    ],
}
BACKWARD = {
    "Matmul": [
        "grad_x = np.matmul(grad_y, W.T)\ngrad_W = np.matmul(x.T, grad_y)",
        "grad_x = grad_y @ W.T\ngrad_W = x.T @ grad_y",
        "grad_x = np.dot(grad_y, np.transpose(W))\ngrad_W = np.dot(np.transpose(x), grad_y)",
        "grad_x = np.einsum('nk,dk->nd', grad_y, W)\ngrad_W = np.einsum('nd,nk->dk', x, grad_y)",
    ],
    "Relu": [
        "grad_x = grad_y * (self.mem['x'] > 0)",
        "x = self.mem['x']\ngrad_x = np.where(x > 0, grad_y, 0.0)",
        "mask = (self.mem['x'] > 0).astype(grad_y.dtype)\ngrad_x = mask * grad_y",
        "grad_x = grad_y.copy()\ngrad_x[self.mem['x'] <= 0] = 0",
    ],
}
TF_MODEL = [
    "class myModel:\n    def __init__(self):\n"
    "        self.W1 = tf.Variable(tf.random.normal([28 * 28, 100], stddev=0.05))\n"
    "        self.b1 = tf.Variable(tf.zeros([100]))\n        self.W2 = tf.Variable(tf.random.normal([100, 10], stddev=0.05))\n"
    "        self.b2 = tf.Variable(tf.zeros([10]))\n\n    def __call__(self, x):\n        x = tf.reshape(x, [-1, 28 * 28])\n"
    "        h1 = tf.nn.relu(tf.matmul(x, self.W1) + self.b1)\n        return tf.matmul(h1, self.W2) + self.b2",
    "class myModel:\n    def __init__(self):\n        init = tf.keras.initializers.GlorotUniform(seed=1)\n"
    "        self.W1 = tf.Variable(init(shape=(784, 128)), name='W1')\n        self.b1 = tf.Variable(tf.zeros(128), name='b1')\n"
    "        self.W2 = tf.Variable(init(shape=(128, 10)), name='W2')\n        self.b2 = tf.Variable(tf.zeros(10), name='b2')\n\n"
    "    def __call__(self, x):\n        flat = tf.reshape(x, (tf.shape(x)[0], -1))\n"
    "        hidden = tf.maximum(flat @ self.W1 + self.b1, 0.0)\n        logits = hidden @ self.W2 + self.b2\n        return logits",
    "class myModel:\n    def __init__(self):\n"
    "        self.W1 = tf.Variable(np.random.randn(784, 100).astype(np.float32) * 0.01)\n"
    "        self.W2 = tf.Variable(np.random.randn(100, 10).astype(np.float32) * 0.01)\n"
    "        self.b1 = tf.Variable(np.zeros(100, dtype=np.float32))\n        self.b2 = tf.Variable(np.zeros(10, dtype=np.float32))\n\n"
    "    def __call__(self, x):\n        x = tf.reshape(x, shape=[-1, 784])\n        a = tf.matmul(x, self.W1)\n"
    "        a = tf.nn.relu(tf.add(a, self.b1))\n        return tf.add(tf.matmul(a, self.W2), self.b2)",
    "class myModel(tf.Module):\n    def __init__(self, hidden=256):\n        super().__init__()\n"
    "        self.params = []\n        for fan_in, fan_out in [(784, hidden), (hidden, 10)]:\n"
    "            bound = (6.0 / (fan_in + fan_out)) ** 0.5\n"
    "            self.params.append(tf.Variable(tf.random.uniform([fan_in, fan_out], -bound, bound)))\n"
    "            self.params.append(tf.Variable(tf.zeros([fan_out])))\n"
    "        self.W1, self.b1, self.W2, self.b2 = self.params\n\n    def __call__(self, x):\n"
    "        out = tf.reshape(tf.cast(x, tf.float32), [-1, 784])\n        for i in range(0, len(self.params), 2):\n"
    "            out = out @ self.params[i] + self.params[i + 1]\n            if i < len(self.params) - 2:\n"
    "                out = tf.nn.relu(out)\n        return out",
]
TEXTBOOK_SHARE = 0.4  # how often a student's answer is the first (textbook) one of its pool
TOUCH_CHANCE = 0.35  # how often each personal touch (below) is applied to one answer
_OTHER_NUMBERS = {"100": ["64", "128", "200", "256", "300"], "128": ["100", "150", "512"], "256": ["100", "200"],
                  "0.05": ["0.01", "0.1", "0.02"], "0.01": ["0.05", "0.001"], "1e-8": ["1e-10", "1e-12", "1e-7"],
                  "1e-12": ["1e-9", "1e-15"], "0.5": ["0.50"], "784": ["28 * 28", "28*28"], "10": ["10"]}


def personalise(source: str, rng: random.Random) -> str:
    """An answer as one student would write it: constants of their own choosing, a result kept in
    a variable before it is returned, an input converted first (semantics unchanged or close)."""
    numbers = [n for n in _OTHER_NUMBERS if re.search(rf"(?<![\w.]){re.escape(n)}(?![\w.])", source)]
    if numbers and rng.random() < TOUCH_CHANCE * 2:
        number = rng.choice(numbers)
        source = re.sub(rf"(?<![\w.]){re.escape(number)}(?![\w.])", rng.choice(_OTHER_NUMBERS[number]), source)
    lines = source.split("\n")
    last = lines[-1]
    if last.strip().startswith("return ") and rng.random() < TOUCH_CHANCE:
        indent = last[:len(last) - len(last.lstrip())]
        lines[-1:] = [f"{indent}{rng.choice(['out', 'result', 'value'])} = {last.strip()[7:]}",
                      f"{indent}return {rng.choice(['out', 'result', 'value'])}"]
        lines[-1] = lines[-1].replace(lines[-1].split()[-1], lines[-2].split()[0])
    if lines[0].startswith("def ") and "(x" in lines[0] and rng.random() < TOUCH_CHANCE:
        lines.insert(1, rng.choice(["    x = tf.convert_to_tensor(x)", "    x = np.array(x, dtype=np.float64)",
                                    "    x = tf.cast(x, tf.float64)"]))
    return "\n".join(lines)


def _with_backward(cells: list[str], name: str, body: str) -> list[str]:
    """The numpy notebook's cells with `name.backward`'s blank filled by `body`."""
    indented = "\n".join("        " + line for line in body.split("\n"))
    out = []
    for cell in cells:
        if cell.startswith(f"class {name}"):
            tree = ast.parse(cell)
            backward = next(n for n in tree.body[0].body if isinstance(n, ast.FunctionDef) and n.name == "backward")
            lines = cell.split("\n")
            returns = lines[backward.body[-1].lineno - 1]
            marker = max(i for i, line in enumerate(lines[:backward.body[-1].lineno - 1]) if line.strip().startswith("####"))
            cell = "\n".join(lines[:marker + 1] + [indented, returns] + lines[backward.body[-1].end_lineno:])
        out.append(cell)
    return out


def choose(rng: random.Random) -> dict[str, int]:
    """Which answer of each pool one student writes."""
    pools = {**{t: len(v) for t, v in PART1.items()}, **{t: len(v) for t, v in BACKWARD.items()}, "mnist_tf": len(TF_MODEL)}
    return {t: 0 if rng.random() < TEXTBOOK_SHARE else rng.randrange(1, n) for t, n in pools.items()}


def write_student(folder: Path, picks: dict[str, int], blank: bool = False, touches: str | None = None) -> Path:
    """A hand-in with the chosen answers (or, with `blank`, the starter code only); the personal
    touches are drawn from `touches` (default: the folder's name, so each student has their own)."""
    from grader.similarity import starter_code

    starter = starter_code()
    rng = random.Random(touches or folder.name)
    part1 = [starter[t] if blank else personalise(PART1[t][picks[t]], rng) for t in PART1]
    write_notebook(folder / "tf2.0-exercise.ipynb", [IMPORTS, *part1])
    numpy_cells = reference_cells("tutorial_minst_fnn-numpy-exercise.ipynb")
    for name, pool in BACKWARD.items():
        numpy_cells = [starter[name] if blank and c.startswith(f"class {name}") else c for c in numpy_cells]
        if not blank:
            numpy_cells = _with_backward(numpy_cells, name, personalise(pool[picks[name]], rng))
    write_notebook(folder / "tutorial_minst_fnn-numpy-exercise.ipynb", numpy_cells)
    tf_cells = [IMPORTS, starter["mnist_tf"] if blank else personalise(TF_MODEL[picks["mnist_tf"]], rng)]
    write_notebook(folder / "tutorial_minst_fnn-tf2.0-exercise.ipynb", tf_cells)
    return folder


_KEEP = {"self", "x", "label", "grad_y", "W", "softmax", "sigmoid", "softmax_ce", "sigmoid_ce", "myModel", "Matmul",
         "Relu", "Softmax", "Log", "forward", "backward", "mem", "W1", "W2", "b1", "b2", "h2_log"}


def _local_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    names |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args}
    return {n for n in names if n not in _KEEP and len(n) > 0}


def disguise(source_folder: Path, folder: Path, rng: random.Random) -> Path:
    """A disguised copy: local names renamed, Part 1 cells reordered, comments and blank lines
    changed, the Part 1 notebook renamed, an unused helper added."""
    import nbformat

    for path in sorted(source_folder.glob("*.ipynb")):
        cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        disguised = []
        for cell in cells:
            for index, name in enumerate(sorted(_local_names(cell))):
                cell = re.sub(rf"\b{re.escape(name)}\b", f"{name}_{rng.choice(['v', 'tmp', 'val'])}{index}", cell)
            lines = [line for line in cell.split("\n") if not line.strip().startswith("#") or "####" in line]
            cell = "\n\n".join(lines) if rng.random() < 0.5 else "# my solution\n" + "\n".join(lines)
            disguised.append(cell)
        name = path.name
        if name == "tf2.0-exercise.ipynb":
            head, body = disguised[:1], disguised[1:]
            rng.shuffle(body)
            disguised = head + body + ["def unused_helper(values):\n    return [v * 2 for v in values]"]
            name = "homework_part1_final.ipynb"
        write_notebook(folder / name, disguised)
    return folder


def extracted(folder: Path) -> dict:
    """What grading records of a hand-in's code (the results contract's `sources`), without running it."""
    from grader.pipeline import load_sources
    from grader.targets import TARGETS, locate, source_of

    files = load_sources(folder)
    located = {name: locate(target, files) for name, target in TARGETS.items()}
    return {"submission": folder.name, "sources": {n: source_of(l) for n, l in located.items() if l.definition}}


def make_class(root: Path, students: int, copies: int, seed: int, blanks: int = 0) -> tuple[list[dict], set[tuple[str, str]]]:
    """`students` independent hand-ins, `copies` disguised copies of some of them and `blanks`
    starter-only ones, as results; returns them and the planted (original, copy) pairs."""
    rng = random.Random(seed)
    folders = [write_student(root / f"s{i:03d}", choose(rng)) for i in range(students)]
    planted = set()
    for i in range(copies):
        original = folders[rng.randrange(students)]
        while any(original.name in pair for pair in planted):
            original = folders[rng.randrange(students)]
        copy = disguise(original, root / f"c{i:03d}", rng)
        folders.append(copy)
        planted.add(tuple(sorted((original.name, copy.name))))
    folders += [write_student(root / f"b{i:03d}", {}, blank=True) for i in range(blanks)]
    return [extracted(folder) for folder in folders], planted
